/**
 * The `wrangler dev` the chaos run drives: loopback only, a fresh persist directory, each start in
 * its own process group so a kill takes wrangler, esbuild and both workerd processes together.
 * Everything started is tracked and stopped on exit, on error and on Ctrl-C.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const WRANGLER = path.join(REPO, "node_modules", "wrangler", "bin", "wrangler.js");
const CHILD_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  NO_UPDATE_NOTIFIER: "1",
  CI: "1",
  FORCE_COLOR: "0",
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const groups = new Set();

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

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killGroup(pgid, signal = "SIGKILL") {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
  const deadline = Date.now() + 15_000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone
    }
  }
  groups.delete(pgid);
}

/** Runs wrangler with `args` to completion; resolves with its stdout, throws with its output. */
export function wrangler(args, logFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd: REPO,
      env: CHILD_ENV,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    groups.add(child.pid);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      groups.delete(child.pid);
      if (logFile) fs.appendFileSync(logFile, `$ wrangler ${args.join(" ")}\n${out}${err}\n`);
      if (code === 0) resolve(out);
      else reject(new Error(`wrangler ${args.join(" ")} exited ${code}:\n${(out + err).slice(-3000)}`));
    });
  });
}

/**
 * One `wrangler dev` on 127.0.0.1:port over `persistTo`. start() waits for /api/health;
 * crash() SIGKILLs the whole process group at once (no graceful shutdown: a crash).
 */
export class DevServer {
  constructor({ port, persistTo, logFile }) {
    this.port = port;
    this.persistTo = persistTo;
    this.logFile = logFile;
    this.pgid = null;
    this.up = false;
    this.starts = 0;
    this.startMs = [];
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 180_000) {
    const inspectorPort = await freePort();
    const args = [
      WRANGLER,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(this.port),
      "--inspector-port",
      String(inspectorPort),
    ];
    args.push("--persist-to", this.persistTo, "--show-interactive-dev-session=false", "--log-level", "warn");
    const out = fs.openSync(this.logFile, "a");
    fs.writeSync(out, `\n=== start ${++this.starts} at ${new Date().toISOString()} ===\n`);
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: CHILD_ENV,
      stdio: ["ignore", out, out],
      detached: true,
    });
    fs.closeSync(out);
    this.pgid = child.pid;
    groups.add(child.pid);
    let exited = null;
    child.on("exit", (code, signal) => (exited = code ?? signal));
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (exited !== null)
        throw new Error(`wrangler dev exited (${exited}) before it was healthy; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.base}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          this.up = true;
          this.startMs.push(Date.now() - t0);
          return;
        }
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`wrangler dev not healthy after ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL to every process of this run of wrangler dev, then wait until all are gone. */
  async crash() {
    this.up = false;
    if (this.pgid !== null) await killGroup(this.pgid, "SIGKILL");
    this.pgid = null;
  }

  /** A gentle stop at the end (TERM first, KILL after a grace period). */
  async stop() {
    this.up = false;
    if (this.pgid === null) return;
    const pgid = this.pgid;
    this.pgid = null;
    try {
      process.kill(-pgid, "SIGTERM");
    } catch {
      // gone
    }
    const deadline = Date.now() + 5000;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
    await killGroup(pgid, "SIGKILL");
  }
}

/** Last resort on exit: every process group this run started, killed synchronously. */
export function killEverything() {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone
    }
  }
  groups.clear();
}
