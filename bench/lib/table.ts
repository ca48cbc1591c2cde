/**
 * The tables a run prints at the end: per mode its latencies, bulk, rush and costs; the figures of
 * both modes side by side (the dev-tooling share); the targets; any errors.
 */
import type { ScenarioResults } from "../scenarios/index.ts";
import { round, type Summary } from "./common.ts";
import { type Report, rateLimitsText } from "./report.ts";

const MODE_NAMES = {
  prod: "prod — production-shaped: deploy bundle in workerd via Miniflare, no dev proxy",
  dev: "dev — wrangler dev",
};

const fmt = (v: unknown) =>
  v === null || v === undefined ? "—" : typeof v === "number" ? String(round(v, 1)) : String(v);

export function printTable(r: Report): void {
  const m = r.machine;
  const lines: string[] = [];
  const row = (cols: unknown[], widths: number[]) =>
    lines.push(
      cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join("  "),
    );
  const w = [34, 8, 8, 8, 8, 10];
  /** One latency row: label, n, p50, p95, p99, and the ratio to bare `ws` where there is one. */
  const latency = (label: string, x: Summary, ratio = "", n: unknown = x.n) =>
    row([label, n, fmt(x.p50), fmt(x.p95), fmt(x.p99), ratio], w);

  lines.push("", `Ticket Rail bench — ${r.mode} run, ${r.generated_at}`);
  lines.push(
    `machine: ${m.cores} cores ${m.cpu_model}, ${m.mem_gb} GiB, Node ${m.node}, ${m.workerd}, wrangler ${m.wrangler}`,
  );
  lines.push(
    `shared machine: load avg ${m.loadavg_start.join("/")} → ${m.loadavg_end?.join("/")}; CPU pressure (some, avg10) ${m.pressure_start.cpu_some_avg10_pct}% → ${m.pressure_end?.cpu_some_avg10_pct}%`,
  );
  lines.push(`product: ${m.product_source}`);
  lines.push(`rate limits raised for the bench: ${rateLimitsText(" ")}`);
  for (const [mode, x] of Object.entries(r.modes)) {
    if (!x) continue;
    lines.push(
      "",
      `=== ${MODE_NAMES[mode as keyof typeof MODE_NAMES] ?? mode}${mode === r.headline_mode ? " (headline)" : ""} ===`,
      "",
    );
    modeTables(x.scenarios);
  }
  const keys = [
    "cpu_ms_per_placement",
    "cpu_ms_per_socket_accept",
    "cpu_ms_per_bulk_accepted_order",
    "cpu_ms_per_order_lifecycle",
    "rows_written_per_change",
    "rows_written_per_relay",
    "rows_written_per_order",
    "rows_written_per_order_burst",
    "d1_bytes_per_order",
    "rush_sustained_orders_per_s",
    "relay_p50_ms",
    "other_screen_p50_ms",
    "floor_echo_p50_ms",
    "floor_echo_write_p50_ms",
    "webhook_p50_ms",
    "webhook_p99_ms",
  ] as const;
  const modes = Object.keys(r.modes) as (keyof typeof r.modes)[];
  lines.push("");
  const cw = [34, ...modes.map(() => 10)];
  row(["figure", ...modes], cw);
  row(
    cw.map((n) => "-".repeat(n)),
    cw,
  );
  const k50 = (mode: (typeof modes)[number]) => (r.modes[mode]?.fanout_p99_ms as Record<string, number> | null)?.["50"];
  row(["fanout_p99_ms at K=50", ...modes.map((mode) => fmt(k50(mode)))], cw);
  for (const key of keys) row([key, ...modes.map((mode) => fmt(r.modes[mode]?.[key]))], cw);
  lines.push("");
  const tw = [44, 16, 10, 8];
  row([`target (issues 5, 15; ${r.headline_mode})`, "aim", "measured", "met"], tw);
  row(
    tw.map((n) => "-".repeat(n)),
    tw,
  );
  for (const t of r.targets) row([t.name, t.target, fmt(t.value), t.met === null ? "—" : t.met ? "yes" : "NO"], tw);
  if (r.errors.length) {
    lines.push("");
    for (const e of r.errors) lines.push(`ERROR in ${e.mode ?? ""} ${e.scenario}: ${e.message}`);
  }
  lines.push("");
  console.log(lines.join("\n"));

  function modeTables(s: ScenarioResults): void {
    row(["latency (ms)", "n", "p50", "p95", "p99", "vs ws p50"], w);
    row(
      w.map((n) => "-".repeat(n)),
      w,
    );
    for (const [k, v] of Object.entries(s.fanout ?? {})) {
      const p = v.product.last_screen;
      const b = v.ws_baseline.last_screen;
      latency(`fan-out K=${k} (last screen)`, p, `${fmt((p.p50 ?? Number.NaN) / (b.p50 ?? Number.NaN))}×`);
      latency(`  bare Node ws K=${k}`, b);
    }
    if (s.relay) {
      latency("relay accept → customer socket", s.relay.customer_socket);
      latency("  accept → ACK on kitchen socket", s.relay.merchant_ack);
      latency("  accept → the other kitchen screen", s.relay.other_screen);
    }
    if (s.webhook) {
      latency("webhook committed → receiver", s.webhook.committed_to_receiver);
      latency("  from the REST request", s.webhook.request_to_receiver);
    }
    if (s.floor) {
      latency("floor: echo Worker → DO socket", s.floor.echo);
      if (s.floor.echo_durable_write) latency("  echo after a durable write", s.floor.echo_durable_write);
      latency("  product socket ping/pong", s.floor.product_ping_pong);
      latency("  product GET /api/health", s.floor.product_rest_health);
    }
    if (s.polling) {
      latency("polling 5 s: time until visible", s.polling.visible, "", "model");
      if (s.polling.simulated) latency("  simulated pollers", s.polling.simulated);
      latency("  one GET /api/orders/:id", s.polling.get_latency);
    }
    if (s.resume) latency(`resume ${s.resume.events} missed → REPLAY_DONE`, s.resume.replay);
    lines.push("");
    if (s.bulk)
      lines.push(
        `bulk: one BULK_ACCEPT of 100 ${fmt(s.bulk.bulk_ms)} ms vs 100 single accepts ${fmt(s.bulk.singles_ms)} ms → ×${fmt(s.bulk.speedup)}; frames per screen for the bulk: ${s.bulk.frames_per_screen_max} (medians of ${s.bulk.rounds.length} round(s), until every screen has all 100 events)`,
      );
    if (s.rush) {
      lines.push(
        `rush (${s.rush.screens} screens, ${s.rush.step_seconds} s steps): sustained ${s.rush.sustained_orders_per_s} orders/s (every step up to it: p99 ≤ 100 ms, 0 errors; highest passing step ${s.rush.highest_passing_step_orders_per_s}/s); lost ${s.rush.lost_events}, duplicated ${s.rush.duplicated_events}, reordered ${s.rush.reordered_events}`,
      );
      for (const st of s.rush.steps)
        lines.push(
          `  ${String(st.rate).padStart(5)}/s: p50 ${fmt(st.fanout.p50)} p99 ${fmt(st.fanout.p99)} ms, errors ${st.errors}, missing ${st.not_on_every_screen}, sent ${st.achieved_rate}/s, workerd CPU ${fmt((st.cpu.product_workerd_cpu_ms ?? Number.NaN) / st.orders)} ms/order, CPU pressure ${st.pressure_after.cpu_some_avg10_pct}% → ${st.pass ? "pass" : "FAIL"}`,
        );
    }
    if (s.costs) {
      const c = s.costs;
      lines.push(
        `costs: workerd CPU ${fmt(c.cpu_ms_per_placement)} ms/placement, ${fmt(c.cpu_ms_per_socket_accept)} ms/socket accept, ${fmt(c.cpu_ms_per_bulk_accepted_order)} ms/bulk-accepted order, ${fmt(c.cpu_ms_per_order_lifecycle)} ms/order lifecycle (until idle)`,
      );
      for (const [name, b] of [
        ["paced", c.paced],
        ["burst", c.burst],
      ] as const)
        lines.push(
          `       ${name} lifecycles (${b.orders}): rows written ${fmt(b.rows_per_change)}/change (merchant room), ${fmt(b.rows_per_relay)}/relayed version (${fmt(b.rows_per_relay_call)}/relay call), ${fmt(b.rows_per_order)}/order (${Object.entries(
            b.rows_per_order_by_storage ?? {},
          )
            .filter(([, v]) => v)
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join(", ")}); CPU ${fmt(b.cpu_ms_per_order)} ms/order; D1 ${fmt(b.d1_bytes_per_order)} bytes/order`,
        );
    }
  }
}
