/**
 * npm run chaos — the long fault run against a real `wrangler dev` (the short one is
 * worker/test/chaos.test.ts, inside `npm test`; both use the chaos core, bench/chaos/core/).
 *
 * Loopback only, a fresh persist directory, bounded in count and time, and it stops everything
 * it started (also on SIGINT, SIGTERM and SIGHUP). Several merchants (accept window 60 s), kitchen
 * screens and customer tracking sockets; a stream of orders and actions over REST and sockets,
 * bulk, races on one order and idempotent retries; while, at random: sockets drop and resume with
 * `since`, the runtime is killed (SIGKILL to wrangler dev and its workerd) and restarted on the
 * same persist directory, relays to order rooms and to D1 fail for a while (POST /api/dev/faults),
 * and orders left unaccepted expire at their deadline. At the end it checks every screen's view
 * against the merchant room's board, every stream for gaps and duplicates, every tracker and
 * order room against the room, D1 against the rooms (read with `wrangler d1 execute` once the
 * server is stopped), every event against a committed change and back, and every retry; it prints
 * the checks and counts and exits non-zero if any check fails.
 *
 *   npm run chaos                       # ≥ 1,000 orders, ≥ 100 of each fault (≈ 15-30 min)
 *   npm run chaos -- --quick            # a few minutes, same checks, smaller counts
 *   options: --orders N --restarts N --faults N --deadlines N --merchants N --seed N
 *            --max-minutes N --keep (keep the temp dir with the wrangler log and state)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sleep } from "../lib/common.ts";
import { DevServer, freePort, interrupted, onCleanup, REPO, stopAll, stopOnSignals } from "../lib/processes.ts";
import { migrateLocal } from "../lib/product.ts";
import { finalChecks } from "./final.ts";
import { type Config, Harness, type Merchant } from "./harness.ts";
import { Watcher } from "./stream.ts";
import { faultLoop, reconnectLoop, restartLoop, trafficWorker } from "./traffic.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    orders: { type: "string" },
    restarts: { type: "string" },
    faults: { type: "string" },
    deadlines: { type: "string" },
    merchants: { type: "string" },
    seed: { type: "string" },
    "max-minutes": { type: "string" },
  },
});
const quick = args.quick;
const num = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const CFG: Config = {
  seed: num(args.seed, Date.now() % 2 ** 31),
  merchants: num(args.merchants, 4),
  screensPerMerchant: 2,
  maxTrackers: 24,
  orders: num(args.orders, quick ? 150 : 1000),
  restarts: num(args.restarts, quick ? 5 : 100),
  faults: num(args.faults, quick ? 12 : 100),
  deadlines: num(args.deadlines, quick ? 12 : 100),
  workers: 6,
  uptimeMs: [2500, 5000],
  faultEveryMs: [120, 450],
  acceptWindowSeconds: 60,
  maxMinutes: num(args["max-minutes"], quick ? 15 : 60),
  keep: args.keep,
};

/** The run, once there is one: a signal stops its loops. */
const current: { run: Harness | null } = { run: null };

async function main(): Promise<boolean> {
  if (!fs.existsSync(path.join(REPO, "dashboard", "dist", "index.html")))
    throw new Error("dashboard/dist is missing: run `npm run build` (npm run chaos does)");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ticket-rail-chaos-"));
  // A failed run keeps its state and wrangler log to look at; a passed or interrupted one does not.
  onCleanup(() => {
    if ((process.exitCode === 0 || interrupted()) && !CFG.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp} (wrangler.log, state)`);
  });
  const persistTo = path.join(tmp, "state");
  const server = new DevServer({ port: await freePort(), persistTo, logFile: path.join(tmp, "wrangler.log") });
  const run = new Harness(CFG, server);
  current.run = run;
  run.log(
    `seed ${CFG.seed}; temp dir ${tmp}; goals: ${CFG.orders} orders, ${CFG.restarts} restarts, ${CFG.faults} socket drops and relay faults of each kind, ${CFG.deadlines} deadlines; at most ${CFG.maxMinutes} min`,
  );
  await migrateLocal(REPO, persistTo, path.join(tmp, "migrations.log"));
  await server.start();
  run.log(`wrangler dev up on ${server.base} in ${server.startMs[0]} ms`);

  const dispatch = await run.tokenFor("dispatch", "chaos-setup");
  for (let i = 0; i < CFG.merchants; i++) {
    const id = `chaos-${CFG.seed}-m${i}`;
    const res = await run.httpSure("PUT", `/api/merchants/${id}`, {
      token: dispatch,
      // Auto-pause off: expiries here are chaos, not an absent kitchen, and every order must land.
      body: {
        name: `Chaos Kitchen ${i}`,
        acceptWindowSeconds: CFG.acceptWindowSeconds,
        autoPause: { afterExpiredInARow: 0, noScreenMinutes: 0 },
      },
    });
    if (res.status !== 201) throw new Error(`creating ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    const m: Merchant = { id, screens: [], trackers: [], orders: [], doomed: new Set(), known: new Map() };
    for (let s = 0; s < CFG.screensPerMerchant; s++) {
      const sub = `screen-${s}`;
      const token = await run.tokenFor("merchant", sub, id);
      const path = `/ws/merchant/${id}/orders`;
      const w = new Watcher({ kind: "merchant", base: server.base, path, token, name: `${id} ${sub}` });
      w.sub = sub;
      await w.connect();
      m.screens.push(w);
    }
    run.world.push(m);
  }

  const loops = [faultLoop(run), restartLoop(run, () => progress(run)), reconnectLoop(run)];
  const workers = Array.from({ length: CFG.workers }, () => trafficWorker(run));
  while (!run.stopping) {
    await sleep(1000);
    if (Object.values(goals(run)).every((g) => g.reached)) run.stopping = true;
    if (run.overTime()) {
      run.log("time limit reached before every goal");
      run.stopping = true;
    }
  }
  await Promise.all([...workers, ...loops]);
  if (!server.up) await server.start();
  run.log(`traffic over: ${JSON.stringify(progress(run))}; checking`);
  await finalChecks(run, persistTo, tmp);
  return report(run);
}

/** The run's goals: how much of each fault it must have seen for its checks to mean something. */
function goals({ counts, cfg }: Harness) {
  return {
    orders: { label: `at least ${cfg.orders} orders`, reached: counts.orders >= cfg.orders },
    restarts: { label: `at least ${cfg.restarts} runtime restarts`, reached: counts.restarts >= cfg.restarts },
    socketDrops: { label: `at least ${cfg.faults} socket drops`, reached: counts.socketDrops >= cfg.faults },
    relayOrderRoom: {
      label: `at least ${cfg.faults} relay failures to order rooms`,
      reached: counts.relayFaults.orderRoom >= cfg.faults,
    },
    relayProjection: {
      label: `at least ${cfg.faults} relay failures to D1`,
      reached: counts.relayFaults.projection >= cfg.faults,
    },
    leftToExpire: { label: `at least ${cfg.deadlines} deadlines`, reached: counts.leftToExpire >= cfg.deadlines },
  };
}

const progress = ({ counts, server }: Harness) => ({
  orders: counts.orders,
  actions: counts.actions,
  drops: counts.socketDrops,
  relay: counts.relayFaults,
  toExpire: counts.leftToExpire,
  startMs: server.startMs.length ? Math.round(server.startMs.reduce((a, b) => a + b, 0) / server.startMs.length) : null,
});

/** Prints the counts and every check; true if all passed. */
function report(run: Harness): boolean {
  const { counts, checks, cfg, server } = run;
  for (const [key, goal] of Object.entries(goals(run))) {
    checks.define(`goal:${key}`, goal.label);
    if (!goal.reached) checks.fail(`goal:${key}`, "not reached");
  }
  if (counts.expired < cfg.deadlines) checks.fail("goal:leftToExpire", `only ${counts.expired} orders expired`);
  Object.assign(counts, checks.tally);
  for (const [key, n] of Object.entries(checks.tally)) {
    checks.define(`tally:${key}`, `${key} = 0`);
    if (n) checks.fail(`tally:${key}`, String(n));
  }
  const minutes = ((Date.now() - run.startedAt) / 60_000).toFixed(1);
  const avgStart = Math.round(server.startMs.reduce((a, b) => a + b, 0) / server.startMs.length);
  const late = (counts.expiryLateMaxMs / 1000).toFixed(1);
  const { relayFaults: relay } = counts;
  console.log(`\nchaos run (seed ${cfg.seed}) against wrangler dev on ${server.base}, ${minutes} min`);
  console.log(
    [
      `  orders            ${counts.orders} (${counts.leftToExpire} left to expire, ${counts.expired} expired, at most ${late} s after acceptBy)`,
      `  actions           ${counts.actions} (${counts.socketActions} over sockets, ${counts.bulk} bulk, ${counts.races} races, ${counts.refused} refused answers)`,
      `  idempotent retries ${counts.idempotentRetries} deliberate, ${counts.ambiguousRetried} after a lost answer; ${counts.rateLimited} rate-limited`,
      `  disconnects       ${counts.socketDrops} injected socket drops, ${counts.socketsCutByRestart} sockets cut by restarts, ${counts.resumes} resumes with since`,
      `  restarts          ${counts.restarts} (SIGKILL wrangler dev + workerd, restart on the same persist dir; avg start ${avgStart} ms)`,
      `  relay failures    ${relay.orderRoom} to order rooms, ${relay.projection} to D1 (${relay.afterDelivery} as lost acknowledgements)`,
      `  events            ${counts.events}`,
      `  lost = ${counts.lost}, duplicated = ${counts.duplicated}, diverged = ${counts.diverged}`,
      "checks:",
    ].join("\n"),
  );
  let failed = 0;
  for (const { label, problems } of checks.results()) {
    console.log(`  ${problems.length === 0 ? "PASS" : "FAIL"}  ${label}`);
    for (const p of problems.slice(0, 8)) console.log(`          ${p}`);
    if (problems.length > 8) console.log(`          … and ${problems.length - 8} more`);
    if (problems.length) failed++;
  }
  console.log(`RESULT ${JSON.stringify({ seed: cfg.seed, ...counts, failedChecks: failed })}`);
  return failed === 0;
}

stopOnSignals((signal) => {
  console.log(`${signal}: stopping everything the chaos run started`);
  if (current.run) current.run.stopping = true;
});
try {
  process.exitCode = (await main()) ? 0 : 1;
} catch (err) {
  console.error(`chaos run failed: ${err instanceof Error ? err.stack : err}`);
  process.exitCode = 1;
}
if (current.run) current.run.stopping = true;
await stopAll();
process.exit();
