/**
 * Cost per operation (a profiling aid, only with `--only ops`): one operation at a time on an idle
 * server, and the Worker+rooms workerd's CPU until the client had what it waited for (the reply;
 * for a placement also the screen's ORDER_CREATED) and until the server is idle again (delivery
 * included, except relays to order rooms nobody watches, which wait), and the rows written.
 * The figures the targets are checked against come from the `costs` scenario.
 */
import { type BenchContext, createMerchant } from "../lib/orchestrator.ts";
import { api, placeMany } from "../load/client.ts";
import { openWithSnapshot } from "../load/mailbox.ts";
import { kitchenActor, type OpsRow, opCostMeter, timedPlacement } from "../load/op-cost.ts";

export type { OpsRow };

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const m = await createMerchant(ctx, "bench-ops");
  const r = await ctx.agents.solo.call("opsCost", {
    screenUrl: m.screenUrl(await m.token("ops-screen")),
    merchantId: m.id,
    customerToken: ctx.customers[0]!,
    n: ctx.quick ? 10 : 30,
    workerPids: ctx.servers.product_workerd,
    proxyPids: ctx.servers.product_proxy_workerd,
  });
  ctx.results.scenarios.ops = r.rows;
  console.table(r.rows);
}

interface OpsArgs {
  screenUrl: string;
  merchantId: string;
  customerToken: string;
  n: number;
  workerPids: number[];
  proxyPids: number[];
}

export const agent = {
  async opsCost({ screenUrl, merchantId, customerToken, n, workerPids, proxyPids }: OpsArgs) {
    const screen = await openWithSnapshot(screenUrl);
    const act = kitchenActor(screen, "ops");
    const { rows, measure } = opCostMeter(workerPids, proxyPids);
    const before = () => screen.clear();
    await measure("GET /api/health", n, () => api()("GET", "/api/health"));
    const placed = await measure(
      "POST /api/orders",
      n,
      (i) => timedPlacement(screen, workerPids, { merchantId, token: customerToken, key: `ops-place-${i}` }),
      { before },
    );
    const ids = placed.map((r) => r.id);
    await measure("GET /api/orders/:id", n, (i) =>
      api()("GET", `/api/orders/${encodeURIComponent(ids[i]!)}`, { token: customerToken }),
    );
    await measure("socket MERCHANT_ACCEPT", n, (i) => act("MERCHANT_ACCEPT", { orderId: ids[i], prepMinutes: 10 }), {
      before,
    });
    await measure(
      "socket MERCHANT_UPDATE_PREP_TIME",
      n,
      (i) => act("MERCHANT_UPDATE_PREP_TIME", { orderId: ids[i], prepMinutes: 12 }),
      { before },
    );
    const { orders } = await placeMany({ merchantId, tokens: [customerToken], n: 100 });
    await measure(
      "socket BULK_ACCEPT of 100 (per order)",
      1,
      () => act("BULK_ACCEPT", { orderIds: orders.map((o) => o.id), prepMinutes: 10 }),
      { perOp: 100, before },
    );
    screen.ws.close();
    return { rows };
  },
};
