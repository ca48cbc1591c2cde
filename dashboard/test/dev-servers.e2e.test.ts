/**
 * Two dev servers in one checkout never restart each other. The browser tests' `wrangler dev`
 * serves this checkout's dashboard/dist; a second `npm run dev` (whose predev rebuilds the
 * dashboard and migrates its own D1) starts beside it while the first is under load. Before
 * builds wrote only changed files, the first server reloaded: requests in flight got "503 Your
 * worker restarted mid-request" and its sockets dropped.
 */
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { baseUrl, newMerchant, placeOrder, token } from "./helpers.ts";
import { freePort, repoRoot } from "./worker-server.ts";

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
});

/** `npm run dev -- --port N` as a newcomer would start it, in its own process group. */
async function startSecondDevServer(): Promise<{ port: number; log: () => string }> {
  const port = await freePort();
  const inspectorPort = await freePort();
  let log = "";
  const child = spawn(
    "npm",
    [
      "run",
      "dev",
      "--",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));
  stops.push(async () => {
    if (exited || !child.pid) return;
    process.kill(-child.pid, "SIGTERM");
    for (let i = 0; i < 100 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
    if (!exited) process.kill(-child.pid, "SIGKILL");
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the second dev server exited:\n${log}`);
    const up = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { port, log: () => log };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the second dev server did not come up:\n${log}`);
}

describe("dev servers in one checkout", () => {
  it("a second `npm run dev` leaves the first serving: no 503, no dropped socket, every order on its board", async () => {
    const merchantId = await newMerchant("Two Servers");
    const kitchen = await token.merchant(merchantId);
    const ws = new WebSocket(`${baseUrl().replace("http", "ws")}/ws/merchant/${merchantId}/orders?token=${kitchen}`);
    const created = new Set<string>();
    let closed: number | null = null;
    ws.addEventListener("close", (e) => (closed = e.code));
    ws.addEventListener("message", (e) => {
      const frame: unknown = JSON.parse(String(e.data));
      for (const env of Array.isArray(frame) ? frame : [frame]) {
        const { event, payload } = env as { event: string; payload: { order?: { id: string } } };
        if (event === "ORDER_CREATED" && payload.order) created.add(payload.order.id);
      }
    });
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", reject, { once: true });
    });

    // Load on the first server for as long as the second one starts, and a little after.
    const failures: string[] = [];
    const placed: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        try {
          // A customer per order: one caller's REST rate limit (100 per 10 s) is not the subject.
          placed.push((await placeOrder(merchantId, `e2e-two-servers-${placed.length}`)).id);
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
        const health = await fetch(`${baseUrl()}/api/health`).catch((e: unknown) => e);
        if (!(health instanceof Response) || health.status !== 200)
          failures.push(`health: ${health instanceof Response ? health.status : String(health)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const second = await startSecondDevServer();
    await new Promise((r) => setTimeout(r, 2_000));
    loading = false;
    await load;
    await stops.pop()!();

    expect(failures, second.log()).toEqual([]);
    expect(placed.length).toBeGreaterThan(5);
    // Let the last ORDER_CREATED arrive, then: the socket never dropped and saw every order.
    for (let i = 0; i < 50 && created.size < placed.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBeNull();
    expect([...created].sort()).toEqual([...placed].sort());
    ws.close();
  });
});
