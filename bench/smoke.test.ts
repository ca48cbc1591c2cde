/**
 * Smoke test of the benchmark itself: `--quick` runs end to end in both modes (the production-shaped
 * Miniflare server and a real `wrangler dev`) and writes a JSON report with every field issues 5
 * and 15 ask for. It checks the harness works, not
 * the product's figures (those depend on the machine), so no target is asserted here.
 *
 * Not part of the workerd test pool (vitest only includes worker/ and schema/); .ci/run runs it
 * after npm test, with Node 24 from node_modules:   npx node --test bench/smoke.test.ts
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { descendants, type Proc, stillRunning } from "./lib/proc.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const KS = ["1", "10", "50", "200"];

test("bench --quick runs, stops what it started and writes a complete latest.json", { timeout: 900_000 }, async () => {
  const out = path.join(os.tmpdir(), `ticket-rail-bench-smoke-${process.pid}.json`);
  fs.rmSync(out, { force: true });
  const run = spawn(process.execPath, ["bench/run.ts", "--quick", "--out", out], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 890_000,
  });
  let output = "";
  run.stdout.on("data", (d: Buffer) => {
    output += d;
    process.stdout.write(d);
  });
  // Everything it starts, seen while it runs (other people's benches on this machine are not ours).
  const started = new Map<string, Proc>();
  const watch = setInterval(() => {
    for (const p of descendants(run.pid ?? 0)) started.set(`${p.pid}@${p.started}`, p);
  }, 500);
  const status = await new Promise((resolve) => run.on("exit", resolve));
  clearInterval(watch);
  assert.equal(status, 0, "bench --quick exited non-zero");
  const tmp = /temp dir (\S+)/.exec(output)?.[1];
  assert.ok(tmp, "the bench names its temp dir");

  const report = JSON.parse(fs.readFileSync(out, "utf8"));
  fs.rmSync(out, { force: true });
  assert.equal(report.mode, "quick");
  assert.deepEqual(report.errors, []);
  const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  for (const key of ["fanout_p50_ms", "fanout_p99_ms", "ws_baseline_fanout_p50_ms"]) {
    for (const k of KS) assert.ok(isNumber(report[key]?.[k]), `${key}[${k}] is a number`);
  }
  for (const key of [
    "relay_p50_ms",
    "relay_p99_ms",
    "webhook_p50_ms",
    "rush_sustained_orders_per_s",
    "rush_lost_events",
    "rush_duplicated_events",
    "bulk_ms",
    "singles_ms",
    "bulk_speedup",
    "resume_1000_ms",
    "floor_echo_p50_ms",
    "polling_visible_p50_ms",
    "other_screen_p50_ms",
    "cpu_ms_per_placement",
    "cpu_ms_per_socket_accept",
    "cpu_ms_per_bulk_accepted_order",
    "rows_written_per_change",
    "rows_written_per_relay",
    "rows_written_per_order",
    "d1_bytes_per_order",
  ]) {
    assert.ok(isNumber(report[key]), `${key} is a number`);
    for (const mode of ["prod", "dev"])
      assert.ok(isNumber(report.modes[mode]?.[key]), `modes.${mode}.${key} is a number`);
  }
  assert.equal(report.headline_mode, "prod");
  assert.equal(report.resume_exact, true, "the replay was exactly the missed events");
  assert.ok(isNumber(report.machine.cores) && report.machine.cores > 0);
  assert.match(report.machine.node, /^v\d+/);
  assert.match(report.machine.workerd, /workerd/);
  assert.ok(Array.isArray(report.targets) && report.targets.length > 0);

  // Nothing the bench started may outlive it.
  assert.ok(
    [...started.values()].some((p) => /workerd/.test(p.cmdline)),
    "its servers were seen",
  );
  const left = [...started.values()].filter(stillRunning);
  assert.deepEqual(
    left.map((p) => `${p.pid} ${p.cmdline}`),
    [],
    "processes left behind",
  );
  assert.equal(fs.existsSync(tmp), false, `its temp dir ${tmp} is gone`);
});
