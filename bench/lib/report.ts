/**
 * The report a run writes (bench/results/latest.json): the headline figures under flat keys, the
 * issue 5 targets with the value measured against each, and every scenario's own figures.
 */
import type { FanoutResult } from "../scenarios/fanout.ts";
import type { ScenarioResults } from "../scenarios/index.ts";
import type { ProfileSummary } from "./profile.ts";
import type { Machine } from "./product.ts";
import { round } from "./common.ts";

/** The bench raises the product's rate limits: it is one client hammering one merchant on purpose. */
export const RATE_LIMITS = { REST_RATE_LIMIT: "100000/10", SOCKET_RATE_LIMIT: "100000/10" };
export const rateLimitsText = (sep: string) =>
  Object.entries(RATE_LIMITS)
    .map(([k, v]) => `${k}=${v}`)
    .join(sep);

export interface RunResults {
  scenarios: ScenarioResults;
  profiles: Record<string, ProfileSummary & { file: string; server_cpu?: unknown }>;
  errors: { scenario: string; message: string }[];
}

type Target = { name: string; target: string; value: number | null | undefined; met: boolean | null };

const perK = <T>(fo: FanoutResult | undefined, fn: (v: FanoutResult[string]) => T) =>
  fo ? Object.fromEntries(Object.entries(fo).map(([k, v]) => [k, fn(v)])) : null;

export function buildReport(args: {
  results: RunResults;
  machine: Machine;
  quick: boolean;
  durationS: number | null;
  servers: { product: string; echo: string };
}) {
  const { results, machine, quick } = args;
  const s = results.scenarios;
  const fo = s.fanout;
  const r = {
    generated_at: new Date().toISOString(),
    duration_s: args.durationS,
    mode: quick ? "quick" : "full",
    command: quick ? "npm run bench -- --quick" : "npm run bench",
    machine,
    notes: [
      `Rate limits raised for the bench via wrangler dev --var: ${rateLimitsText(", ")}.`,
      "Latency = client send → client receive on CLOCK_MONOTONIC, measured in separate load processes (node child_process.fork) over 127.0.0.1; warm-up iterations excluded.",
      "Server processes: wrangler dev (its Node process + two workerd processes: wrangler's proxy and the Worker), the echo floor (its own wrangler dev) and the Node ws baseline; all on the same machine as the load processes.",
      "Polling: time-until-visible = uniform phase in the 5 s poll cycle + a measured GET /api/orders/:id latency (analytic Monte Carlo); the full run also simulates real pollers.",
    ],
    fanout_p50_ms: perK(fo, (v) => v.product.last_screen.p50),
    fanout_p95_ms: perK(fo, (v) => v.product.last_screen.p95),
    fanout_p99_ms: perK(fo, (v) => v.product.last_screen.p99),
    fanout_samples: perK(fo, (v) => v.product.samples),
    ws_baseline_fanout_p50_ms: perK(fo, (v) => v.ws_baseline.last_screen.p50),
    ws_baseline_fanout_p99_ms: perK(fo, (v) => v.ws_baseline.last_screen.p99),
    relay_p50_ms: s.relay?.customer_socket.p50 ?? null,
    relay_p95_ms: s.relay?.customer_socket.p95 ?? null,
    relay_p99_ms: s.relay?.customer_socket.p99 ?? null,
    relay_samples: s.relay?.customer_socket.n ?? null,
    webhook_p50_ms: s.webhook?.committed_to_receiver.p50 ?? null,
    webhook_p99_ms: s.webhook?.committed_to_receiver.p99 ?? null,
    rush_sustained_orders_per_s: s.rush?.sustained_orders_per_s ?? null,
    rush_lost_events: s.rush?.lost_events ?? null,
    rush_duplicated_events: s.rush?.duplicated_events ?? null,
    bulk_ms: s.bulk?.bulk_ms ?? null,
    singles_ms: s.bulk?.singles_ms ?? null,
    bulk_speedup: s.bulk?.speedup ?? null,
    bulk_frames_per_screen: s.bulk?.frames_per_screen_max ?? null,
    resume_1000_ms: s.resume?.replay.p50 ?? null,
    resume_exact: s.resume?.exact ?? null,
    floor_echo_p50_ms: s.floor?.echo.p50 ?? null,
    floor_echo_p99_ms: s.floor?.echo.p99 ?? null,
    polling_visible_p50_ms: s.polling?.visible.p50 ?? null,
    polling_visible_p99_ms: s.polling?.visible.p99 ?? null,
    targets: [] as Target[],
    scenarios: s,
    ...(Object.keys(results.profiles).length ? { profiles: results.profiles } : {}),
    errors: results.errors,
    servers: args.servers,
  };
  /** A target; `met` is null when the scenario did not run (or measured nothing). */
  const t = (name: string, target: string, value: number | null | undefined, met: (v: number) => boolean) =>
    r.targets.push({ name, target, value, met: value === null || value === undefined ? null : met(value) });
  const p99At = (k: number) => fo?.[k]?.product.last_screen.p99;
  t("fan-out p99 at K=50", "≤ 25 ms", p99At(50), (v) => v <= 25);
  t("fan-out p99 at K=200", "≤ 100 ms", p99At(200), (v) => v <= 100);
  for (const [k, v] of Object.entries(fo ?? {})) {
    const ratio = round((v.product.last_screen.p50 ?? Number.NaN) / (v.ws_baseline.last_screen.p50 ?? Number.NaN), 1);
    t(`fan-out p50 vs bare ws at K=${k}`, "≤ 3×", ratio, (x) => x <= 3);
  }
  t("relay p99", "≤ 50 ms", r.relay_p99_ms, (v) => v <= 50);
  t("rush sustained per merchant room", "≥ 300 orders/s", r.rush_sustained_orders_per_s, (v) => v >= 300);
  const lostOrDuplicated = s.rush ? s.rush.lost_events + s.rush.duplicated_events : null;
  t("rush lost + duplicated events", "0", lostOrDuplicated, (v) => v === 0);
  t("bulk of 100 vs 100 singles", "≥ 10× faster", r.bulk_speedup, (v) => v >= 10);
  t("bulk frames per screen", "1 (or a few)", r.bulk_frames_per_screen, (v) => v <= 3);
  t("resume of 1,000 missed events", "≤ 200 ms, exact", r.resume_1000_ms, (v) => v <= 200 && r.resume_exact === true);
  return r;
}

export type Report = ReturnType<typeof buildReport>;
