/**
 * Starting and stopping what the bench runs: `wrangler dev` instances (each in its own process
 * group, so the npm/npx wrapper, wrangler's Node process and both workerd processes go together),
 * the Node `ws` baseline and the load processes. Everything started is registered here and torn
 * down on success, on error and on Ctrl-C.
 */
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { sleep } from "./common.mjs";

const groups = new Set(); // pids of detached children = their process-group ids
const cleanups = [];
let cleanedUp = false;

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion (output to `logFile`); throws with the log's tail on failure. */
export function runToCompletion(cmd, args, { cwd, logFile, env }) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, "a");
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", out, out],
      detached: true,
    });
    groups.add(child.pid);
    child.on("exit", (code, signal) => {
      groups.delete(child.pid);
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} failed (${code ?? signal}):\n${tail(logFile)}`));
    });
    child.on("error", reject);
  });
}

/**
 * Starts `npx wrangler dev` on 127.0.0.1:`port` in its own process group and waits until
 * `healthPath` answers 200.
 */
export async function startWrangler({
  cwd,
  configPath,
  port,
  inspectorPort,
  persistTo,
  vars = {},
  logFile,
  healthPath,
  timeoutMs = 90_000,
}) {
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
  ];
  args.push("--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", "warn");
  if (configPath) args.push("--config", configPath);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const out = fs.openSync(logFile, "a");
  const child = spawn("npx", args, {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", CI: "1" },
    stdio: ["ignore", out, out],
    detached: true,
  });
  fs.closeSync(out);
  groups.add(child.pid);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = code ?? signal;
    groups.delete(child.pid);
  });
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (exited !== null) throw new Error(`wrangler dev exited (${exited}) before it was healthy:\n${tail(logFile)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${healthPath}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return { pid: child.pid, pgid: child.pid, port, inspectorPort, logFile, args: ["npx", ...args] };
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`wrangler dev not healthy after ${timeoutMs} ms:\n${tail(logFile)}`);
}

/** Registers something to undo at teardown (temp dirs, forked processes). */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/** Stops every process group we started (TERM, then KILL after a grace period) and runs cleanups. */
export async function cleanupAll() {
  if (cleanedUp) return;
  cleanedUp = true;
  // Servers first: workerd writes its state on the way out, so the temp dir goes only after.
  const pgids = [...groups];
  for (const pgid of pgids) signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && pgids.some(groupAlive)) await sleep(100);
  for (const pgid of pgids) if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
  groups.clear();
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // keep tearing down the rest
    }
  }
}

/** Last-resort synchronous kill (process 'exit' handlers cannot await). */
export function killAllSync() {
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes in a process group, with their command lines (from /proc). */
export function processesOfGroup(pgid) {
  const found = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) a process has used so far, or null if it is gone. */
export function cpuMsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export function rmrf(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function ensureDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return path.resolve(dir);
}

/**
 * Waits until the given server processes are nearly idle (under `idlePct` of one core over a
 * `windowMs` window), so a scenario starts after the previous one's background work (outbox
 * relays, D1 projection) has drained. Returns how long that took, or null after `maxMs`.
 */
export async function waitQuiet(pids, { idlePct = 10, windowMs = 300, maxMs = 60_000 } = {}) {
  const total = () => pids.reduce((sum, pid) => sum + (cpuMsOf(pid) ?? 0), 0);
  const started = Date.now();
  let prev = total();
  while (Date.now() - started < maxMs) {
    await sleep(windowMs);
    const cur = total();
    if (((cur - prev) / windowMs) * 100 < idlePct) return Date.now() - started;
    prev = cur;
  }
  return null;
}
