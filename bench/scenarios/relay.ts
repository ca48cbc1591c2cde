/**
 * Relay: a kitchen's MERCHANT_ACCEPT → the customer's order-room socket. Orders are placed and their
 * customers' sockets opened in untimed batches; then the accepts go one at a time, each timed from
 * its send to the merchant socket's ACK (`merchant_ack`), to the MERCHANT_ACCEPTED on another
 * kitchen screen of the merchant (`other_screen`: a socket action reaching the other screens,
 * compared with the echo floor) and on the customer's socket (`customer_socket`). This is also the loop worker/test/socket-latency.test.ts
 * used to time inside the test pool: speed is the bench's to measure, not the tests'.
 */
import { mapLimit, now, type Summary, summarize } from "../lib/common.ts";
import { type BenchContext, type CpuUsage, createMerchant } from "../lib/orchestrator.ts";
import { waitQuiet } from "../lib/proc.ts";
import { placeMany } from "../load/client.ts";
import { openWithSnapshot, replyTo } from "../load/mailbox.ts";

const PLAN = { quick: { n: 30, warmup: 3, batch: 33 }, full: { n: 1000, warmup: 20, batch: 100 } };

export interface RelayResult {
  customer_socket: Summary;
  merchant_ack: Summary;
  other_screen: Summary;
  cpu_incl_setup: CpuUsage;
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const m = await createMerchant(ctx, "bench-relay");
  const meter = ctx.meter();
  await meter.start();
  const r = await ctx.agents.solo.call("relay", {
    wsBase: ctx.wsBase,
    merchantUrl: m.screenUrl(await m.token("screen-relay")),
    merchantId: m.id,
    customerTokens: ctx.customers,
    quietPids: ctx.servers.product_workerd,
    ...(ctx.quick ? PLAN.quick : PLAN.full),
  });
  const cpu = await meter.stop();
  const out: RelayResult = {
    customer_socket: summarize(r.samples),
    merchant_ack: summarize(r.acks),
    other_screen: summarize(r.others),
    cpu_incl_setup: cpu,
  };
  ctx.results.scenarios.relay = out;
  ctx.log(
    `relay p50 ${out.customer_socket.p50} p99 ${out.customer_socket.p99} ms (ACK p50 ${out.merchant_ack.p50}, other screen p50 ${out.other_screen.p50})`,
  );
}

interface RelayArgs {
  wsBase: string;
  merchantUrl: string;
  merchantId: string;
  customerTokens: string[];
  n: number;
  warmup: number;
  batch: number;
  quietPids: number[];
}

export const agent = {
  async relay({ wsBase, merchantUrl, merchantId, customerTokens, n, warmup, batch, quietPids }: RelayArgs) {
    const merchant = await openWithSnapshot(merchantUrl);
    const other = await openWithSnapshot(merchantUrl);
    const samples: number[] = [];
    const acks: number[] = [];
    const others: number[] = [];
    let done = 0;
    while (done < warmup + n) {
      const count = Math.min(batch, warmup + n - done);
      const { orders } = await placeMany({ merchantId, tokens: customerTokens, n: count });
      const customers = await mapLimit(orders, 8, (o) =>
        openWithSnapshot(`${wsBase}/ws/order/${encodeURIComponent(o.id)}?token=${o.token}`),
      );
      await waitQuiet(quietPids); // let the placements' outbox drain: we time accepts, not placements
      merchant.clear();
      other.clear();
      for (const [j, order] of orders.entries()) {
        const requestId = `relay-${done}`;
        const seen = customers[j]!.next((e) => e.event === "MERCHANT_ACCEPTED", 10_000, "MERCHANT_ACCEPTED");
        const acked = replyTo(merchant, requestId, 10_000, "ACK");
        const elsewhere = other.next(
          (e) => e.event === "MERCHANT_ACCEPTED" && e.requestId === requestId,
          10_000,
          "MERCHANT_ACCEPTED on the other screen",
        );
        const t0 = now();
        merchant.send({ action: "MERCHANT_ACCEPT", requestId, payload: { orderId: order.id, prepMinutes: 10 } });
        const [c, a, o] = await Promise.all([seen, acked, elsewhere]);
        if (a.e.event !== "ACK") throw new Error(`accept refused: ${JSON.stringify(a.e.payload)}`);
        // What the customer got must be this accept, or the time means nothing.
        if (c.e.payload?.order?.id !== order.id || c.e.payload.merchantAction !== "ACCEPT")
          throw new Error(`the customer of ${order.id} got ${JSON.stringify(c.e).slice(0, 300)}`);
        if (done >= warmup) {
          samples.push(c.t - t0);
          acks.push(a.t - t0);
          others.push(o.t - t0);
        }
        done++;
        if (j % 20 === 0) {
          merchant.clear();
          other.clear();
        }
      }
      for (const s of customers) s.ws.close();
    }
    merchant.ws.close();
    other.ws.close();
    return { samples, acks, others };
  },
};
