/**
 * Starts the real Worker for browser tests: `wrangler dev` on a free port with a fresh local
 * D1 / Durable Object state directory (every history shard migrated first), waits for
 * /api/health, and stops it afterwards. The process handling is the repository's one process
 * manager (bench/lib/processes.ts): wrangler runs in a process group of its own, and SIGINT,
 * SIGTERM or SIGHUP to the test run stop it and remove its state directory before the run exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevServer, freePort, onCleanup, REPO, runNode, stopAll, stopOnSignals } from "../../bench/lib/processes.ts";

export { freePort };
export const repoRoot = REPO;

export interface RunningWorker {
  baseUrl: string;
  stop: () => Promise<void>;
}

/** The device token lifetime the browser tests' Worker runs with. */
export const E2E_DEVICE_TOKEN_TTL_SECONDS = 20;

export async function startWorker(timeoutMs = 180_000): Promise<RunningWorker> {
  stopOnSignals((signal) => console.log(`${signal}: stopping everything the browser tests started`));
  const dir = mkdtempSync(join(tmpdir(), "ticket-rail-e2e-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, "wrangler.log");
  // Every history shard (DB, DB_1, …), as `npm run dev` migrates them.
  await runNode(["worker/db/apply-migrations.mjs", "--local", "--persist-to", dir], { logFile });
  const server = new DevServer({
    port: await freePort(),
    persistTo: dir,
    logFile,
    // A paired screen's token lives 20 s here, so the pairing test sees it renewed (and keep
    // working past the first token's expiry) in seconds instead of 15 minutes.
    vars: { DEVICE_TOKEN_TTL_SECONDS: String(E2E_DEVICE_TOKEN_TTL_SECONDS) },
  });
  try {
    await server.start(timeoutMs);
  } catch (error) {
    await stopAll();
    throw error;
  }
  console.log(`browser tests: wrangler dev up on ${server.base} (state in ${dir})`);
  return { baseUrl: server.base, stop: stopAll };
}
