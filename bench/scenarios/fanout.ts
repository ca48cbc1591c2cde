/**
 * Fan-out (and baseline (c), bare `ws`): K screens, spread over two load processes, and orders
 * placed one at a time by a third. Timed: `POST /api/orders` sent → the ORDER_CREATED carrying its
 * Idempotency-Key received by the last of the K screens. The same client code runs against the
 * in-memory Node `ws` server (bench/baseline/ws-server.ts).
 */
import { ORDER_ITEMS, type Summary, split, summarize } from "../lib/common.ts";
import { type BenchContext, type CpuUsage, cpuPerOrder, createMerchant } from "../lib/orchestrator.ts";
import { pressure } from "../lib/proc.ts";
import { clientFor } from "../load/client.ts";

const PLAN = {
  quick: { ks: [1, 10, 50, 200], n: 30, warmup: 3 },
  full: { ks: [1, 10, 50, 200], n: 1000, warmup: 50 },
};

export interface FanoutAt {
  k: number;
  samples: number;
  errors: number;
  pressure_after: ReturnType<typeof pressure>;
  last_screen: Summary;
  first_screen: Summary;
  rest_response: Summary;
  cpu: CpuUsage;
  cpu_per_order_ms: Record<string, number | null>;
}
export type FanoutResult = Record<string, { product: FanoutAt; ws_baseline: FanoutAt }>;

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const out: FanoutResult = {};
  ctx.results.scenarios.fanout = out; // sizes done so far stay in the report if a later one fails
  for (const k of ctx.ks ?? (ctx.quick ? PLAN.quick : PLAN.full).ks) {
    const at = { product: await fanoutAt(ctx, k, "product"), ws_baseline: await fanoutAt(ctx, k, "ws") };
    out[k] = at;
    const p = at.product.last_screen;
    const b = at.ws_baseline.last_screen;
    ctx.log(`fan-out K=${k}: product p50 ${p.p50} p99 ${p.p99} ms | ws baseline p50 ${b.p50} p99 ${b.p99} ms`);
  }
}

type PlaceArgs = { origin?: string; path?: string; merchantId: string; token?: string; key: string };

async function fanoutAt(ctx: BenchContext, k: number, target: "product" | "ws"): Promise<FanoutAt> {
  const { n, warmup } = ctx.quick ? PLAN.quick : PLAN.full;
  const procs = k >= 10 ? [ctx.agents.screensA, ctx.agents.screensB] : [ctx.agents.screensA];
  const perProc = split(
    Array.from({ length: k }, (_, j) => j),
    procs.length,
  );
  let urls: string[][];
  let place: (key: string, i: number) => PlaceArgs;
  if (target === "product") {
    const m = await createMerchant(ctx, `bench-fo${k}`);
    const tokens = await Promise.all(procs.map((_, i) => m.token(`screen-${i}`)));
    urls = perProc.map((screens, i) => screens.map(() => m.screenUrl(tokens[i]!)));
    place = (key, i) => ({ merchantId: m.id, token: ctx.customers[i % ctx.customers.length]!, key });
  } else {
    urls = perProc.map((screens) => screens.map(() => ctx.wsBaselineUrl));
    place = (key) => ({ origin: ctx.wsBaselineOrigin, path: "/orders", merchantId: "ws-baseline", key });
  }
  await Promise.all(procs.map((p, i) => p.call("openScreens", { urls: urls[i]! })));
  const last: number[] = [];
  const first: number[] = [];
  const rest: number[] = [];
  let errors = 0;
  const meter = ctx.meter();
  for (let i = 0; i < warmup + n; i++) {
    if (i === warmup) {
      if (target === "product") await ctx.quiet();
      await meter.start();
    }
    const key = `fo-${target}-${k}-${i}`;
    const waits = procs.map((p) => p.call("waitGroup", { group: key, perSocket: 1, timeoutMs: 10_000 }));
    const r = await ctx.agents.placer.call("placeOne", place(key, i));
    if (r.status !== 201) {
      errors++;
      await Promise.allSettled(waits);
      if (errors > 5) throw new Error(`fan-out K=${k} (${target}): placing failed: ${r.status} ${r.error}`);
      continue;
    }
    const got = await Promise.allSettled(waits);
    const failed = got.find((g) => g.status === "rejected");
    if (failed) {
      errors++;
      if (errors > 5) throw new Error(`fan-out K=${k} (${target}): ${(failed.reason as Error).message}`);
      continue;
    }
    if (i < warmup) continue;
    const ok = got.flatMap((g) => (g.status === "fulfilled" ? [g.value] : []));
    last.push(Math.max(...ok.map((g) => g.tLast)) - r.t0);
    first.push(Math.min(...ok.map((g) => g.tFirst)) - r.t0);
    rest.push(r.t1 - r.t0);
  }
  const cpu = await meter.stop();
  await Promise.all(procs.map((p) => p.call("closeScreens")));
  return {
    k,
    samples: last.length,
    errors,
    pressure_after: pressure(),
    last_screen: summarize(last),
    first_screen: summarize(first),
    rest_response: summarize(rest),
    cpu,
    cpu_per_order_ms: cpuPerOrder(cpu, last.length),
  };
}

export const agent = {
  /** One order through REST; its Idempotency-Key is the key screens group its event by. */
  async placeOne({ origin, path = "/api/orders", merchantId, token, key }: PlaceArgs) {
    const r = await clientFor(origin)<{ id?: string }>("POST", path, {
      token,
      body: { merchantId, items: ORDER_ITEMS },
      headers: { "idempotency-key": key },
    });
    return {
      t0: r.t0,
      t1: r.t1,
      status: r.status,
      orderId: r.json?.id,
      error: r.status === 201 ? undefined : (r.text ?? r.error),
    };
  },
};
