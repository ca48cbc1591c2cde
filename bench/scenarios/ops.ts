/**
 * Cost per operation (a profiling aid, only with `--only ops`): one operation at a time on an idle
 * server, and the Worker+rooms workerd's CPU until the client had what it waited for (the reply;
 * for a placement also the screen's ORDER_CREATED) and until the server is idle again (the outbox
 * relay and D1 write included). /proc CPU ticks are 10 ms, so these are averages over n operations.
 */
import { now, ORDER_ITEMS, round, summarize } from "../lib/common.ts";
import { type BenchContext, createMerchant } from "../lib/orchestrator.ts";
import { cpuMsOfAll, waitQuiet } from "../lib/proc.ts";
import { api, placeMany } from "../load/client.ts";
import { openWithSnapshot, replyTo } from "../load/mailbox.ts";

export type OpsRow = Record<string, string | number | null>;

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

/** One timed operation: when it was sent and answered, and the workerd CPU when the screen had it. */
type Timed = { t0: number; t1: number; cpuAtEvent?: number };

export const agent = {
  async opsCost({ screenUrl, merchantId, customerToken, n, workerPids, proxyPids }: OpsArgs) {
    const quiet = () => waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
    const screen = await openWithSnapshot(screenUrl);
    let rid = 0;
    const act = async (action: string, payload: unknown): Promise<Timed> => {
      const requestId = `ops-${rid++}`;
      const reply = replyTo(screen, requestId, 60_000);
      const t0 = now();
      screen.send({ action, requestId, payload });
      const r = await reply;
      if (r.e.event === "ERROR") throw new Error(`${action}: ${JSON.stringify(r.e.payload)}`);
      return { t0, t1: r.t };
    };
    const rows: OpsRow[] = [];
    const measure = async <R extends Timed>(name: string, count: number, fn: (i: number) => Promise<R>) => {
      let untilReply = 0;
      let untilEvent = 0;
      let total = 0;
      let proxy = 0;
      const lat: number[] = [];
      const out: R[] = [];
      for (let i = 0; i < count; i++) {
        await quiet();
        screen.clear();
        const w0 = cpuMsOfAll(workerPids);
        const p0 = cpuMsOfAll(proxyPids);
        const r = await fn(i);
        untilReply += cpuMsOfAll(workerPids) - w0;
        if (r.cpuAtEvent !== undefined) untilEvent += r.cpuAtEvent - w0;
        await quiet();
        total += cpuMsOfAll(workerPids) - w0;
        proxy += cpuMsOfAll(proxyPids) - p0;
        lat.push(r.t1 - r.t0);
        out.push(r);
      }
      rows.push({
        op: name,
        n: count,
        latency_p50_ms: summarize(lat).p50,
        workerd_cpu_until_reply_ms: round(untilReply / count, 1),
        ...(out[0]?.cpuAtEvent !== undefined
          ? { workerd_cpu_until_screen_event_ms: round(untilEvent / count, 1) }
          : {}),
        workerd_cpu_total_ms: round(total / count, 1),
        proxy_cpu_ms: round(proxy / count, 1),
      });
      return out;
    };
    await measure("GET /api/health", n, () => api()("GET", "/api/health"));
    const placed = await measure("POST /api/orders (new OrderRoom per order)", n, async (i) => {
      const key = `ops-place-${i}`;
      const seen = screen
        .next((e) => e.requestId === key && e.event === "ORDER_CREATED", 30_000, "ORDER_CREATED")
        .then(() => cpuMsOfAll(workerPids));
      const r = await api()<{ id: string }>("POST", "/api/orders", {
        token: customerToken,
        body: { merchantId, items: ORDER_ITEMS },
        headers: { "idempotency-key": key },
      });
      if (r.status !== 201 || !r.json) throw new Error(`place: ${r.status} ${r.text}`);
      return { ...r, id: r.json.id, cpuAtEvent: await seen };
    });
    const ids = placed.map((r) => r.id);
    await measure("GET /api/orders/:id", n, (i) =>
      api()("GET", `/api/orders/${encodeURIComponent(ids[i]!)}`, { token: customerToken }),
    );
    await measure("socket MERCHANT_ACCEPT", n, (i) => act("MERCHANT_ACCEPT", { orderId: ids[i], prepMinutes: 10 }));
    await measure("socket MERCHANT_UPDATE_PREP_TIME", n, (i) =>
      act("MERCHANT_UPDATE_PREP_TIME", { orderId: ids[i], prepMinutes: 12 }),
    );
    const { orders } = await placeMany({ merchantId, tokens: [customerToken], n: 100 });
    await measure("socket BULK_ACCEPT of 100 (per bulk)", 1, () =>
      act("BULK_ACCEPT", { orderIds: orders.map((o) => o.id), prepMinutes: 10 }),
    );
    screen.ws.close();
    return { rows };
  },
};
