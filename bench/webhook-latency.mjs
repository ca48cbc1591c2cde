#!/usr/bin/env node
/**
 * Webhook delivery latency: from a change committed in a merchant room to a receiver having the
 * signed POST of it. Standalone (the lead wires it into `npm run bench`): starts its own
 * `wrangler dev` on a fresh local state and a Node receiver on loopback, subscribes the receiver
 * (platform role) to a few merchants, makes changes at a steady pace, and prints p50 / p99 —
 * and, with --json FILE, writes { webhook_p50_ms, webhook_p99_ms, ... } there.
 *
 *   node bench/webhook-latency.mjs [--changes 300] [--merchants 3] [--gap-ms 25] [--json out.json]
 *
 * "Committed" is the event's own timestamp: the room's clock when it made the change (wrangler
 * dev runs on this machine's clock, so it compares with the receiver's Date.now(), to the ms).
 * Also reported: from the REST request being sent, an upper bound that includes the request.
 * Everything it starts is stopped on exit, on error and on SIGINT / SIGTERM / SIGHUP.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { sleep, summarize } from "./lib/common.mjs";
import { cleanupAll, freePort, killAllSync, onCleanup, rmrf, runToCompletion, startWrangler } from "./lib/servers.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const CHANGES = Number(arg("changes", 300));
const MERCHANTS = Number(arg("merchants", 3));
const GAP_MS = Number(arg("gap-ms", 25));
const JSON_OUT = arg("json", null);
const log = (msg) => console.error(`[webhook-latency] ${msg}`);

/** The receiver: verifies every signature, records when each webhook-id first arrived. */
function startReceiver(secretOf) {
  const arrived = new Map(); // webhook-id -> { atMs, payload }
  let invalid = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const atMs = Date.now();
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const payload = new Webhook(secretOf()).verify(body, req.headers);
        if (!arrived.has(req.headers["webhook-id"])) arrived.set(req.headers["webhook-id"], { atMs, payload });
        res.writeHead(204).end();
      } catch {
        invalid++;
        res.writeHead(400).end();
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: server.address().port, arrived, invalid: () => invalid }),
    ),
  );
}

async function call(base, method, route, { token, body } = {}) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ticket-rail-webhook-bench-"));
  onCleanup(() => rmrf(tmp));
  log("applying D1 migrations to a fresh local database");
  await runToCompletion("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", tmp], {
    cwd: ROOT,
    logFile: path.join(tmp, "migrations.log"),
    env: { CI: "1", WRANGLER_SEND_METRICS: "false" },
  });
  const [port, inspectorPort] = [await freePort(), await freePort()];
  log(`starting wrangler dev on 127.0.0.1:${port}`);
  await startWrangler({
    cwd: ROOT,
    port,
    inspectorPort,
    persistTo: tmp,
    vars: { REST_RATE_LIMIT: "1000000/10" },
    logFile: path.join(tmp, "wrangler.log"),
    healthPath: "/api/health",
  });
  const base = `http://127.0.0.1:${port}`;
  const token = async (body) => (await call(base, "POST", "/api/dev/token", { body })).token;
  const platform = await token({ role: "platform", sub: "bench-platform" });
  const dispatch = await token({ role: "dispatch", sub: "bench-dispatch" });

  let secret = "";
  const receiver = await startReceiver(() => secret);
  onCleanup(() => new Promise((r) => receiver.server.close(r)));
  const merchantIds = Array.from({ length: MERCHANTS }, (_, i) => `bench-wh-${process.pid}-${i}`);
  const hook = await call(base, "POST", "/api/webhooks", {
    token: platform,
    body: { url: `http://127.0.0.1:${receiver.port}/hook`, merchantIds },
  });
  secret = hook.secret;
  const staff = {};
  for (const id of merchantIds) {
    await call(base, "PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: id } });
    staff[id] = await token({ role: "merchant", sub: "bench-staff", merchantId: id });
  }

  const items = [{ name: "Dal", quantity: 1, unitPriceCents: 900 }];
  const sentAt = new Map(); // webhook-id -> Date.now() before the request that made it
  const place = async (merchantId, n) => {
    const t0 = Date.now();
    const order = await call(base, "POST", "/api/orders", {
      token: platform,
      body: { merchantId, items, customerId: "bench-cust", externalId: `bench-${n}` },
    });
    return { order, t0 };
  };
  // Warm-up: every room has learned of the subscription and delivered once.
  for (const id of merchantIds) await place(id, `warm-${id}`);
  const warm = Date.now();
  while (receiver.arrived.size < MERCHANTS) {
    if (Date.now() - warm > 30_000) throw new Error("the receiver got no warm-up webhooks in 30 s");
    await sleep(50);
  }
  const seqs = Object.fromEntries(merchantIds.map((id) => [id, 1]));

  log(`${CHANGES} changes over ${MERCHANTS} merchants, one every ~${GAP_MS} ms`);
  for (let i = 0; i < CHANGES; i += 2) {
    const merchantId = merchantIds[(i / 2) % MERCHANTS];
    const { order, t0 } = await place(merchantId, i);
    sentAt.set(`${merchantId}:${++seqs[merchantId]}`, t0);
    await sleep(GAP_MS);
    const t1 = Date.now();
    await call(base, "POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff[merchantId] });
    sentAt.set(`${merchantId}:${++seqs[merchantId]}`, t1);
    await sleep(GAP_MS);
  }
  const deadline = Date.now() + 30_000;
  while ([...sentAt.keys()].some((id) => !receiver.arrived.has(id))) {
    if (Date.now() > deadline) throw new Error("not every webhook arrived within 30 s");
    await sleep(50);
  }

  const fromCommit = [];
  const fromRequest = [];
  for (const [id, t0] of sentAt) {
    const { atMs, payload } = receiver.arrived.get(id);
    fromCommit.push(atMs - Date.parse(payload.timestamp));
    fromRequest.push(atMs - t0);
  }
  const commit = summarize(fromCommit);
  const request = summarize(fromRequest);
  const result = {
    webhook_p50_ms: commit.p50,
    webhook_p99_ms: commit.p99,
    webhook_events: commit.n,
    webhook_max_ms: commit.max,
    webhook_from_request_p50_ms: request.p50,
    webhook_from_request_p99_ms: request.p99,
    webhook_invalid_signatures: receiver.invalid(),
  };
  console.log(
    `webhook latency, committed → receiver got it, ${commit.n} events: p50 ${commit.p50} ms, p99 ${commit.p99} ms ` +
      `(max ${commit.max} ms; from the REST request: p50 ${request.p50} ms, p99 ${request.p99} ms; ` +
      `invalid signatures: ${receiver.invalid()})`,
  );
  console.log(JSON.stringify(result));
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 2)}\n`);
  if (receiver.invalid() > 0) process.exitCode = 1;
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await cleanupAll();
  process.exit(code);
}
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));
process.on("SIGHUP", () => void stop(129));
process.on("exit", killAllSync);

try {
  await main();
} catch (err) {
  // Interrupted: what failed is only what the teardown stopped.
  if (!stopping) console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
