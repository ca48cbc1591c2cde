/**
 * Starts the real Worker for browser tests: `wrangler dev` on a free port with a fresh local
 * D1 / Durable Object state directory (migrated first), waits for /api/health, and stops it
 * (its whole process group) afterwards.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningWorker {
  baseUrl: string;
  stop: () => Promise<void>;
  output: () => string;
}

/** The device token lifetime the browser tests' Worker runs with. */
export const E2E_DEVICE_TOKEN_TTL_SECONDS = 20;

const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };

export async function startWorker(timeoutMs = 180_000): Promise<RunningWorker> {
  const dir = mkdtempSync(join(tmpdir(), "ticket-rail-e2e-"));
  // Every history shard (DB, DB_1, …), as `npm run dev` migrates them.
  await run(process.execPath, ["worker/db/apply-migrations.mjs", "--local", "--persist-to", dir], {
    cwd: repoRoot,
    env: wranglerEnv,
    timeout: timeoutMs,
  });
  const port = await freePort();
  const inspectorPort = await freePort();
  let log = "";
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      dir,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      // A paired screen's token lives 20 s here, so the pairing test sees it renewed (and keep
      // working past the first token's expiry) in seconds instead of 15 minutes.
      "--var",
      `DEVICE_TOKEN_TTL_SECONDS:${E2E_DEVICE_TOKEN_TTL_SECONDS}`,
    ],
    { cwd: repoRoot, env: wranglerEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));

  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!exited) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev exited before it was ready:\n${log}`);
    }
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready after ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { baseUrl, stop, output: () => log };
}
