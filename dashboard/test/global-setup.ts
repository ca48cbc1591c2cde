/**
 * One real Worker (`wrangler dev`, fresh state directory) for all browser tests; each test
 * makes its own merchant, so tests never share a room. TICKET_RAIL_E2E_URL points the tests
 * at an already running server instead (handy while iterating on the UI).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { repoRoot, startWorker } from "./worker-server.ts";
import { findChromium } from "./browser.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // No browser is a failure with one line saying what to do, before any server starts; the
  // browser tests never pass by not running.
  const browser = await findChromium();
  console.log(`browser tests: Chromium from ${browser.source} (${browser.path})`);
  // The Worker serves dashboard/dist: build it so the tests never run a stale bundle.
  await promisify(execFile)(process.execPath, ["dashboard/build.mjs"], { cwd: repoRoot });
  const existing = process.env.TICKET_RAIL_E2E_URL;
  if (existing) {
    project.provide("baseUrl", existing);
    return async () => {};
  }
  const worker = await startWorker();
  project.provide("baseUrl", worker.baseUrl);
  return () => worker.stop();
}
