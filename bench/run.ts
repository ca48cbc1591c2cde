/**
 * `npm run bench` — Ticket Rail end to end, next to its baselines, in one run (issue 5).
 *
 * For each mode — `prod` (production-shaped: the deploy bundle in workerd through Miniflare's API,
 * no dev tooling; the headline) and `dev` (`wrangler dev`) — starts the product on a snapshot (local
 * D1 migrated into a fresh temp dir) and the echo floor worker (bench/echo) the same way, and runs
 * every scenario (bench/scenarios/) against them; the Node `ws` baseline server and four load
 * processes serve both. Prints one table per mode and writes bench/results/latest.json. Everything
 * it starts is stopped at the end, on error and on SIGINT, SIGTERM or SIGHUP.
 *
 *   node bench/run.ts [--quick] [--mode prod|dev|both] [--out FILE] [--only fanout,relay,...]
 *                     [--profile SCENARIO] [--ks 1,50] [--ref GIT_REF [--patch FILE] | --app-dir DIR]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { httpClient, now, round } from "./lib/common.ts";
import {
  Agent,
  type Agents,
  type BenchContext,
  cpuMeter,
  deliverDeferred,
  type Mode,
  mintToken,
  type ServerPids,
} from "./lib/orchestrator.ts";
import { pressure, processesOfGroup, waitQuiet } from "./lib/proc.ts";
import {
  DevServer,
  distinctPorts,
  forkHelper,
  interrupted,
  MiniflareServer,
  onCleanup,
  stopAll,
  stopOnSignals,
} from "./lib/processes.ts";
import { machineInfo, migrateLocal, snapshotProduct } from "./lib/product.ts";
import { captureProfile } from "./lib/profile.ts";
import { buildReport, type ModeResults, RATE_LIMITS, type RunResults, rateLimitsText } from "./lib/report.ts";
import { printTable } from "./lib/table.ts";
import { byDefault, SCENARIOS, type ScenarioName } from "./scenarios/index.ts";

const BENCH_DIR = import.meta.dirname;
const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    only: { type: "string" },
    profile: { type: "string" },
    ref: { type: "string" },
    /** A patch applied to the --ref snapshot (e.g. the rows-written counter for an older commit). */
    patch: { type: "string" },
    /** prod (production-shaped, Miniflare), dev (wrangler dev) or both (default; prod first). */
    mode: { type: "string", default: "both" },
    /** Benchmark an already prepared copy of the product instead (experiments, other checkouts). */
    "app-dir": { type: "string" },
    /** Fan-out sizes, for profiling and debugging one size: --ks 1,50 */
    ks: { type: "string" },
  },
});
const QUICK = opts.quick;
const OUT = path.resolve(opts.out ?? path.join(BENCH_DIR, "results", QUICK ? "latest-quick.json" : "latest.json"));
const ONLY = opts.only?.split(",");
const runs = (name: ScenarioName) => (ONLY ? ONLY.includes(name) : byDefault(name));
const MODES: Mode[] = opts.mode === "both" ? ["prod", "dev"] : [opts.mode as Mode];
if (!MODES.every((m) => m === "prod" || m === "dev")) throw new Error(`--mode ${opts.mode}: prod, dev or both`);

const T0 = now();
const log = (...parts: unknown[]) => console.log(`[bench ${((now() - T0) / 1000).toFixed(1)}s]`, ...parts);
const results: RunResults = { modes: {}, errors: [] };

async function main() {
  const machine = machineInfo();
  log(
    `${QUICK ? "quick" : "full"} run, modes ${MODES.join(" then ")}, on ${machine.cores} cores (${machine.cpu_model}), Node ${machine.node}, ${machine.workerd}; load average ${machine.loadavg_start.join(" ")}`,
  );
  log(`rate limits raised for the bench: ${rateLimitsText(" ")} (wrangler dev --var / Miniflare bindings)`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ticket-rail-bench-"));
  onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const logs = path.join(tmp, "logs");
  fs.mkdirSync(logs);
  // The servers' logs outlive the temp dir (registered after it, so copied before it goes).
  onCleanup(() => fs.cpSync(logs, path.join(BENCH_DIR, "results", "logs"), { recursive: true }));
  const appDir = opts["app-dir"] ? path.resolve(opts["app-dir"]) : null;
  const app = appDir ?? path.join(tmp, "app");
  machine.product_source = appDir
    ? `directory ${appDir} (--app-dir)`
    : snapshotProduct(app, opts.ref, opts.patch ? path.resolve(opts.patch) : undefined);
  log(`benchmarking ${machine.product_source}; temp dir ${tmp}`);

  const wsPort = (await distinctPorts(1))[0]!;
  const wsServer = forkHelper(path.join(BENCH_DIR, "baseline", "ws-server.ts"), [String(wsPort)]);
  await new Promise((resolve, reject) => {
    wsServer.once("message", resolve);
    wsServer.once("exit", (c) => reject(new Error(`ws baseline server exited (${c})`)));
  });
  const agents: Agents = {
    screensA: new Agent("screensA"),
    screensB: new Agent("screensB"),
    placer: new Agent("placer"),
    solo: new Agent("solo"),
  };

  for (const mode of MODES) {
    if (interrupted()) return;
    results.modes[mode] = await runMode(mode, { tmp, logs, app, agents, wsPort, wsPid: wsServer.pid });
  }

  // An interrupted run writes nothing: half a run must not replace the last complete figures.
  if (interrupted()) return;
  machine.loadavg_end = os.loadavg().map((x) => round(x, 2));
  machine.pressure_end = pressure();
  const durationS = round((now() - T0) / 1000, 1);
  const report = buildReport({ results, machine, quick: QUICK, durationS });
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  printTable(report);
  log(`wrote ${path.relative(process.cwd(), OUT)}; total ${((now() - T0) / 1000).toFixed(1)} s`);
  if (results.errors.length) process.exitCode = 1;
}

/** One mode: its product and echo servers up, every scenario against them, the servers stopped. */
async function runMode(
  mode: Mode,
  shared: { tmp: string; logs: string; app: string; agents: Agents; wsPort: number; wsPid: number | undefined },
): Promise<ModeResults> {
  const { tmp, logs, app, agents, wsPort } = shared;
  const out: ModeResults = { scenarios: {}, profiles: {}, servers: { product: "", echo: "" } };
  const Server = mode === "prod" ? MiniflareServer : DevServer;
  const [port, inspectorPort, echoPort] = (await distinctPorts(3)) as [number, number, number];
  const echo = new Server({
    cwd: path.join(BENCH_DIR, "echo"),
    port: echoPort,
    persistTo: path.join(tmp, mode, "echo"),
    logFile: path.join(logs, `${mode}-echo.log`),
    healthPath: "/health",
  });
  // The echo floor starts while the product's D1 is migrated.
  const echoUp = echo.start(90_000);
  echoUp.catch(() => {}); // awaited below
  log(`[${mode}] applying D1 migrations to fresh local databases (every history shard)`);
  const persistTo = path.join(tmp, mode, "product");
  await migrateLocal(app, persistTo, path.join(logs, `${mode}-migrations.log`));
  log(
    `[${mode}] starting the product: ${mode === "prod" ? "Miniflare (deploy bundle)" : "wrangler dev"} on 127.0.0.1:${port}`,
  );
  // Miniflare opens the inspector only to profile (wrangler dev always has one).
  const profiling = opts.profile !== undefined || mode === "dev";
  const product = new Server({
    cwd: app,
    port,
    ...(profiling ? { inspectorPort } : {}),
    persistTo,
    vars: RATE_LIMITS,
    logFile: path.join(logs, `${mode}-product.log`),
  });
  try {
    await product.start(120_000);
    await echoUp;
    log(`[${mode}] echo floor worker on 127.0.0.1:${echoPort}`);
    out.servers = { product: product.command, echo: echo.command };
    const base = `http://127.0.0.1:${port}`;
    await Promise.all(Object.values(agents).map((a) => a.call("init", { base })));

    // wrangler dev runs two workerd processes: its proxy (owns the public port, forwards every
    // request and socket frame) and the one running the Worker and the rooms. The Miniflare host
    // runs one workerd, the Worker's.
    const productPids = processesOfGroup(product.pgid ?? 0);
    const isWorkerd = (p: { cmdline: string }) => /workerd/.test(p.cmdline);
    const isProxy = (p: { cmdline: string }) => p.cmdline.includes(`entry=127.0.0.1:${port}`);
    const servers: ServerPids = {
      product_workerd: productPids.filter((p) => isWorkerd(p) && !isProxy(p)).map((p) => p.pid),
      product_proxy_workerd: productPids.filter((p) => isWorkerd(p) && isProxy(p)).map((p) => p.pid),
      product_host_node: productPids.filter((p) => !isWorkerd(p)).map((p) => p.pid),
      echo_workerd: processesOfGroup(echo.pgid ?? 0)
        .filter(isWorkerd)
        .map((p) => p.pid),
      ws_baseline: shared.wsPid === undefined ? [] : [shared.wsPid],
    };
    const api = httpClient(base, { maxSockets: 16 });
    const ctx: BenchContext = {
      quick: QUICK,
      mode,
      persistTo,
      base,
      wsBase: `ws://127.0.0.1:${port}`,
      echoUrl: `ws://127.0.0.1:${echoPort}/ws`,
      wsBaselineOrigin: `http://127.0.0.1:${wsPort}`,
      wsBaselineUrl: `ws://127.0.0.1:${wsPort}/ws`,
      api,
      agents,
      servers,
      dispatch: await mintToken(api, { role: "dispatch", sub: "bench-dispatch" }),
      customers: await Promise.all(
        Array.from({ length: 20 }, (_, i) => mintToken(api, { role: "customer", sub: `bench-customer-${i}` })),
      ),
      ks: opts.ks ? opts.ks.split(",").map(Number) : null,
      results: out,
      meter: () => cpuMeter(servers, Object.values(agents)),
      quiet: () => waitQuiet(servers.product_workerd),
      merchants: new Set(),
      log: (...parts: unknown[]) => log(`[${mode}]`, ...parts),
    };

    for (const [name, scenario] of Object.entries(SCENARIOS) as [ScenarioName, (typeof SCENARIOS)[ScenarioName]][]) {
      if (interrupted()) break;
      if (!runs(name)) continue;
      const started = now();
      ctx.log(`scenario ${name}…`);
      try {
        await deliverDeferred(ctx);
        if ((await ctx.quiet()) === null) ctx.log("the product did not go idle within 60 s; starting anyway");
        const profiling = opts.profile === name ? await captureProfile(inspectorPort) : null;
        await scenario.orchestrate(ctx);
        if (profiling) {
          const dir = path.join(BENCH_DIR, "results", "profiles");
          const file = path.join(dir, `${name}-${mode}.cpuprofile`);
          const profile = await profiling.stop(file, keepBundle(app, persistTo, dir, `${name}-${mode}`, mode));
          out.profiles[name] = {
            ...profile,
            server_cpu: (out.scenarios[name] as { cpu?: unknown })?.cpu ?? null,
          };
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        results.errors.push({ mode, scenario: name, message });
        ctx.log(`scenario ${name} FAILED: ${message}`);
      }
      ctx.log(`scenario ${name} done in ${((now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    // The next mode gets the machine to itself.
    await Promise.all([product.stop(), echo.stop()]);
  }
  return out;
}

/** The profile's line numbers point into the served bundle: keep it next to the profile. */
function keepBundle(app: string, persistTo: string, dir: string, name: string, mode: Mode): string | null {
  const candidates =
    mode === "prod"
      ? [path.join(`${persistTo}-bundle`, "index.js")]
      : fs
          .readdirSync(path.join(app, ".wrangler", "tmp"))
          .filter((d) => d.startsWith("dev-"))
          .map((d) => path.join(app, ".wrangler", "tmp", d, "index.js"));
  let bundle: string | null = null;
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) continue;
    bundle = path.join(dir, `${name}.bundle.js`);
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(candidate, bundle);
  }
  return bundle;
}

stopOnSignals((signal) => log(`${signal}: stopping everything the bench started`));
try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
