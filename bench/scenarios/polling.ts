/**
 * Baseline (b), polling `GET /api/orders/:id` every 5 s: the time until a status change is visible
 * is a uniform phase in the poll cycle plus a measured GET latency (Monte Carlo over the measured
 * samples). The full run also simulates 40 real pollers: each polls from a random phase, its order
 * is accepted at a random moment; accept sent → the first poll answer showing ACCEPTED.
 */
import { now, type Summary, sleep, summarize } from "../lib/common.ts";
import { type BenchContext, createMerchant } from "../lib/orchestrator.ts";
import { api, type PlacedOrder } from "../load/client.ts";

const POLL_PERIOD_MS = 5000;
const PLAN = {
  quick: { n: 100, warmup: 10, sim: null },
  full: { n: 1000, warmup: 50, sim: { pollers: 40, periodMs: POLL_PERIOD_MS, spreadMs: 5000 } },
};

export interface PollingResult {
  method: string;
  get_latency: Summary;
  visible: Summary;
  simulated?: Summary & { pollers: number; missed: number; polls: number };
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { n, warmup, sim } = ctx.quick ? PLAN.quick : PLAN.full;
  const solo = ctx.agents.solo;
  const m = await createMerchant(ctx, "bench-poll");
  const { orders } = await solo.call("placeMany", { merchantId: m.id, tokens: ctx.customers, n: 1 });
  const order = orders[0]!;
  await ctx.quiet();
  const get = await solo.call("getLatency", {
    path: `/api/orders/${encodeURIComponent(order.id)}`,
    token: order.token,
    n,
    warmup,
  });
  const analytic = pollingModel(get.samples, POLL_PERIOD_MS);
  const out: PollingResult = {
    method: "analytic: visible = U(0, 5000 ms) phase + a measured GET latency (Monte Carlo, 200k draws)",
    get_latency: summarize(get.samples),
    visible: analytic,
  };
  if (sim) {
    const placed = await solo.call("placeMany", { merchantId: m.id, tokens: ctx.customers, n: sim.pollers });
    const r = await solo.call("pollSim", {
      merchantId: m.id,
      merchantToken: await m.token("poll-kitchen"),
      orders: placed.orders,
      periodMs: sim.periodMs,
      spreadMs: sim.spreadMs,
    });
    out.simulated = { pollers: sim.pollers, ...summarize(r.samples), missed: r.missed, polls: r.polls };
  }
  ctx.results.scenarios.polling = out;
  const simulated = out.simulated ? `; simulated p50 ${out.simulated.p50} ms over ${out.simulated.n} changes` : "";
  ctx.log(`polling every 5 s: visible p50 ${analytic.p50} ms (GET p50 ${out.get_latency.p50} ms)${simulated}`);
}

/** Time-until-visible under polling: a change lands at a uniform phase of the poll cycle. */
function pollingModel(getSamples: number[], periodMs: number): Summary {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const draws = new Float64Array(200_000);
  for (let i = 0; i < draws.length; i++)
    draws[i] = rand() * periodMs + getSamples[Math.floor(rand() * getSamples.length)]!;
  return summarize(draws);
}

type PollSimArgs = {
  merchantId: string;
  merchantToken: string;
  orders: PlacedOrder[];
  periodMs: number;
  spreadMs: number;
};

export const agent = {
  /**
   * Real pollers: each customer polls its order every `periodMs` from a random phase; each order
   * is accepted (REST) at a random moment; time-until-visible = from the accept's send to the
   * first poll response that shows ACCEPTED.
   */
  async pollSim({ merchantId, merchantToken, orders, periodMs, spreadMs }: PollSimArgs) {
    const start = now() + 100;
    const results = await Promise.all(
      orders.map(async (o) => {
        const phase = Math.random() * periodMs;
        const changeAt = start + 200 + Math.random() * spreadMs;
        let tChange: number | null = null;
        let visible: number | null = null;
        const change = (async () => {
          await sleep(changeAt - now());
          // Known before the request goes out, so a poll answered before the accept's own
          // response still counts from the change's send.
          tChange = now();
          const r = await api()("POST", `/api/merchants/${merchantId}/orders/${encodeURIComponent(o.id)}/accept`, {
            token: merchantToken,
            body: { prepMinutes: 10 },
          });
          if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
        })();
        let nextPoll = start + phase;
        let polls = 0;
        while (visible === null && now() - start < spreadMs + 3 * periodMs) {
          await sleep(nextPoll - now());
          nextPoll += periodMs;
          const r = await api()<{ status: string }>("GET", `/api/orders/${encodeURIComponent(o.id)}`, {
            token: o.token,
          });
          polls++;
          if (r.status === 200 && r.json?.status === "ACCEPTED" && tChange !== null) visible = r.t1 - tChange;
        }
        await change;
        return { visible, polls };
      }),
    );
    return {
      samples: results.flatMap((r) => (r.visible === null ? [] : [r.visible])),
      missed: results.filter((r) => r.visible === null).length,
      polls: results.reduce((a, r) => a + r.polls, 0),
    };
  },
};
