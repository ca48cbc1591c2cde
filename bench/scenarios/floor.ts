/**
 * Baseline (a), the floor: round trips through the echo Worker → Durable Object socket (bench/echo,
 * same runtime and Hibernation API as the rooms), the same echo after one durable SQLite write
 * (the floor of any change: the runtime holds the reply until the write is durable), the
 * product's own `ping`/`pong` (answered by the runtime, no room) and its cheapest REST request,
 * `GET /api/health`.
 */
import { now, type Summary, summarize } from "../lib/common.ts";
import { type BenchContext, type CpuUsage, createMerchant } from "../lib/orchestrator.ts";
import { openMailbox } from "../load/mailbox.ts";

const PLAN = { quick: { n: 200, warmup: 20 }, full: { n: 2000, warmup: 200 } };

export interface FloorResult {
  echo: Summary;
  echo_durable_write: Summary;
  product_ping_pong: Summary;
  product_rest_health: Summary;
  cpu: CpuUsage;
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { n, warmup } = ctx.quick ? PLAN.quick : PLAN.full;
  const pad = "x".repeat(700); // about the size of an ORDER_CREATED envelope
  const meter = ctx.meter();
  await meter.start();
  const echo = await ctx.agents.solo.call("rtt", { url: ctx.echoUrl, message: `{"i":{i},"pad":"${pad}"}`, n, warmup });
  const cpu = await meter.stop();
  const echoWrite = await ctx.agents.solo.call("rtt", {
    url: `${ctx.echoUrl}?write=1`,
    message: `{"i":{i},"pad":"${pad}"}`,
    n,
    warmup,
  });
  // The product's own socket path without the room: `ping` is answered by the runtime.
  const m = await createMerchant(ctx, "bench-ping");
  const ping = await ctx.agents.solo.call("rtt", {
    url: m.screenUrl(await m.token("screen-ping")),
    message: "ping",
    expect: "pong",
    n,
    warmup,
    awaitFirst: true,
  });
  // The REST floor: the product's cheapest request (no auth, no room) through the same dev server.
  const health = await ctx.agents.solo.call("getLatency", { path: "/api/health", n, warmup });
  const out: FloorResult = {
    echo: summarize(echo.samples),
    echo_durable_write: summarize(echoWrite.samples),
    product_ping_pong: summarize(ping.samples),
    product_rest_health: summarize(health.samples),
    cpu,
  };
  ctx.results.scenarios.floor = out;
  ctx.log(
    `floor echo p50 ${out.echo.p50} ms (after a durable write ${out.echo_durable_write.p50} ms); product ping/pong p50 ${out.product_ping_pong.p50} ms; GET /api/health p50 ${out.product_rest_health.p50} ms`,
  );
}

export const agent = {
  /**
   * Sequential round trips on one socket: `message` out, the first frame back in. With
   * `awaitFirst`, the first frame the server sends on open (a SNAPSHOT) is awaited and skipped.
   */
  async rtt(args: { url: string; message: string; expect?: "pong"; n: number; warmup: number; awaitFirst?: boolean }) {
    const { url, message, expect, n, warmup, awaitFirst = false } = args;
    const s = await openMailbox(url);
    if (awaitFirst) await s.next(() => true, 15_000, "the first frame");
    const samples: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const back = s.next((e) => (expect === "pong" ? e.event === "pong" : e.i === i), 10_000, "the echo");
      const t0 = now();
      s.ws.send(message.replace("{i}", String(i)));
      const { t } = await back;
      if (i >= warmup) samples.push(t - t0);
    }
    s.ws.close();
    return { samples };
  },
};
