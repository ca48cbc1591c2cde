/**
 * Every long-running script stops everything it started when it is signalled: `npm run chaos` and
 * `npm run bench` (both its modes) are started as a user or CI would, signalled once their servers
 * are up, and then nothing they started may be left — no process of their process group, no
 * `wrangler dev`, Miniflare host or workerd (those run in process groups of their own), no temp dir.
 *
 * Each case is signalled the way it happens in real life: a CI cancel or a service manager signals
 * npm's pid only (npm forwards SIGINT/SIGTERM to the script, which the npm scripts `exec`); `timeout`,
 * Ctrl-C and a closed terminal signal the whole process group.
 *
 *   npx node --test bench/signals.test.ts        (≈ 1–2 min; run by .ci/run)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { descendants, type Proc, processes, stillRunning } from "./lib/proc.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Case {
  script: string[];
  /** A line that says the servers are up. */
  ready: RegExp;
  signal: NodeJS.Signals;
  to: "npm" | "group";
}

const CASES: Case[] = [
  { script: ["run", "chaos", "--", "--quick"], ready: /wrangler dev up on/, signal: "SIGTERM", to: "npm" },
  { script: ["run", "chaos", "--", "--quick"], ready: /wrangler dev up on/, signal: "SIGTERM", to: "group" },
  { script: ["run", "chaos", "--", "--quick"], ready: /wrangler dev up on/, signal: "SIGHUP", to: "group" },
  {
    script: ["run", "bench", "--", "--quick", "--mode", "dev", "--only", "floor"],
    ready: /scenario floor…/,
    signal: "SIGINT",
    to: "group",
  },
  // The browser tests' Worker (dashboard/test/worker-server.ts): a Ctrl-C in the middle of
  // `npm test`'s second half.
  {
    script: [
      "exec",
      "--",
      "vitest",
      "run",
      "--config",
      "dashboard/vitest.e2e.config.ts",
      "dashboard/test/browser.test.ts",
    ],
    ready: /browser tests: wrangler dev up on/,
    signal: "SIGINT",
    to: "group",
  },
  // The production-shaped server: a Miniflare host (Node) and its workerd, a process group of their own.
  {
    script: ["run", "bench", "--", "--quick", "--mode", "prod", "--only", "floor"],
    ready: /scenario floor…/,
    signal: "SIGTERM",
    to: "npm",
  },
];

for (const c of CASES) {
  test(`npm ${c.script.join(" ")}: ${c.signal} to ${c.to === "npm" ? "npm's pid" : "the process group"} leaves nothing behind`, {
    timeout: 240_000,
  }, async () => {
    // Its own process group, like a job started from a shell or a CI step.
    const npm = spawn("npm", c.script, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const pid = npm.pid!;
    let output = "";
    const exited = new Promise<void>((resolve) => npm.on("exit", () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const read = (d: Buffer) => {
        output += d;
        if (c.ready.test(output)) resolve();
      };
      npm.stdout.on("data", read);
      npm.stderr.on("data", read);
      npm.on("exit", (code) => reject(new Error(`exited (${code}) before its servers were up:\n${output}`)));
      setTimeout(() => reject(new Error(`servers not up in 180 s:\n${output}`)), 180_000).unref();
    });
    let started: Proc[] = [];
    let tmp: string | undefined;
    try {
      await ready;
      started = descendants(pid);
      const servers = started.filter((p) => /wrangler(\.js)? dev|miniflare-host|workerd/.test(p.cmdline));
      assert.ok(
        servers.some((p) => p.pgid !== pid),
        `a server (wrangler dev or the Miniflare host) in a process group of its own is running:\n${servers.map((p) => p.cmdline).join("\n")}`,
      );
      tmp = /(\/[^\s"']*ticket-rail-(?:bench|chaos|e2e)-[A-Za-z0-9]+)/.exec(
        servers.map((p) => p.cmdline).join(" "),
      )?.[1];
      assert.ok(tmp && fs.existsSync(tmp), `its temp dir (${tmp}) exists`);
      const dir = tmp;

      process.kill(c.to === "npm" ? pid : -pid, c.signal);
      // npm may go first (it does not wait on SIGHUP): wait for the script itself, bounded.
      await exited;
      const deadline = Date.now() + 60_000;
      while (started.some(stillRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

      const left = started.filter(stillRunning);
      assert.deepEqual(
        left.map((p) => `${p.pid} ${p.cmdline}`),
        [],
        "every process it started is gone",
      );
      const inGroup = [...processes().values()].filter((p) => p.pgid === pid);
      assert.deepEqual(
        inGroup.map((p) => `${p.pid} ${p.cmdline}`),
        [],
        "its process group is empty",
      );
      const usingTmp = [...processes().values()].filter((p) => p.cmdline.includes(dir));
      assert.deepEqual(
        usingTmp.map((p) => `${p.pid} ${p.cmdline}`),
        [],
        "nothing runs on its temp dir",
      );
      assert.equal(fs.existsSync(dir), false, `its temp dir ${dir} is gone`);
      assert.match(output, new RegExp(`${c.signal}: stopping everything`));
    } finally {
      // Whatever happened above, this test leaves nothing running either. A script that ignored
      // the signal may have started servers since: their wrangler runs on its temp dir, and
      // leads a process group of its own with its workerd.
      const kill = (target: number) => {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // gone
        }
      };
      for (const p of [...started.filter(stillRunning), ...descendants(pid)]) kill(p.pid);
      const ours = processes().get(process.pid)?.pgid;
      for (const p of processes().values())
        if (tmp && p.cmdline.includes(tmp) && p.pgid > 1 && p.pgid !== ours) kill(-p.pgid);
    }
  });
}
