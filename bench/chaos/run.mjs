#!/usr/bin/env node
/**
 * npm run chaos — the long fault run against a real `wrangler dev` (the short one is
 * worker/test/chaos.test.ts, inside `npm test`).
 *
 * Loopback only, a fresh persist directory, bounded in count and time, and it stops everything
 * it started. Several merchants (accept window 60 s), kitchen screens and customer tracking
 * sockets; a stream of orders and actions over REST and sockets, bulk, races on one order and
 * idempotent retries; while, at random: sockets drop and resume with `since`, the runtime is
 * killed (SIGKILL to wrangler dev and its workerd) and restarted on the same persist directory,
 * relays to order rooms and to D1 fail for a while (POST /api/dev/faults), and orders left
 * unaccepted expire at their deadline. At the end it checks every screen's view against the
 * merchant room's board, every stream for gaps and duplicates, every tracker and order room
 * against the room, D1 against the rooms (read with `wrangler d1 execute` once the server is
 * stopped), every event against a committed change and back, and every retry; it prints the
 * checks and counts and exits non-zero if any check fails.
 *
 *   npm run chaos                       # ≥ 1,000 orders, ≥ 100 of each fault (≈ 15-30 min)
 *   npm run chaos -- --quick            # a few minutes, same checks, smaller counts
 *   options: --orders N --restarts N --faults N --deadlines N --merchants N --seed N
 *            --max-minutes N --keep (keep the temp dir with the wrangler log and state)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep } from "../lib/common.ts";
import {
  DevServer,
  freePort,
  interrupted,
  onCleanup,
  REPO,
  runWrangler,
  stopAll,
  stopOnSignals,
} from "../lib/processes.ts";
import { canonical, Watcher } from "./stream.mjs";
import { isFinal, STATUS_TRANSITIONS } from "../../schema/transitions.ts";

// ------------------------------------------------------------------ configuration

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}
const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const num = (name, fallback) => (args[name] !== undefined ? Number(args[name]) : fallback);
const CFG = {
  seed: num("seed", Date.now() % 2 ** 31),
  merchants: num("merchants", 4),
  screensPerMerchant: 2,
  maxTrackers: 24,
  orders: num("orders", quick ? 150 : 1000),
  restarts: num("restarts", quick ? 5 : 100),
  faults: num("faults", quick ? 12 : 100),
  deadlines: num("deadlines", quick ? 12 : 100),
  workers: 6,
  uptimeMs: [2500, 5000],
  faultEveryMs: [120, 450],
  acceptWindowSeconds: 60,
  maxMinutes: num("max-minutes", quick ? 15 : 60),
  keep: Boolean(args.keep),
};

// ------------------------------------------------------------------ randomness (seeded, printed)

let rngState = CFG.seed;
function random() {
  rngState = (rngState + 0x6d2b79f5) | 0;
  let t = Math.imul(rngState ^ (rngState >>> 15), 1 | rngState);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const chance = (p) => random() < p;
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

// ------------------------------------------------------------------ state

const counts = {
  orders: 0,
  actions: 0,
  socketActions: 0,
  bulk: 0,
  races: 0,
  refused: 0,
  idempotentRetries: 0,
  ambiguousRetried: 0,
  rateLimited: 0,
  socketDrops: 0,
  socketsCutByRestart: 0,
  resumes: 0,
  restarts: 0,
  relayFaults: { orderRoom: 0, projection: 0, afterDelivery: 0 },
  leftToExpire: 0,
  expired: 0,
  events: 0,
  lost: 0,
  duplicated: 0,
  diverged: 0,
  notJson: 0,
};
const ledger = new Map();
let keySeq = 0;
const newKey = (kind) => `chaos-${CFG.seed}-${++keySeq}-${kind}`;
const startedAt = Date.now();
const log = (msg) => console.log(`[chaos +${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

let server;
let tmp;
const tokenCache = new Map();
const world = [];

// ------------------------------------------------------------------ HTTP

async function http(method, p, { token, body, key } = {}) {
  if (!server.up) return { status: 0, body: null };
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const res = await fetch(server.base + p, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // below
    }
    if (
      json === null ||
      !(res.headers.get("content-type") ?? "").startsWith("application/json") ||
      /<html|\n\s+at \S/i.test(text)
    ) {
      counts.notJson++;
      notes.add(`non-JSON answer ${res.status} to ${method} ${p}: ${text.slice(0, 120)}`);
    }
    return { status: res.status, body: json };
  } catch {
    return { status: 0, body: null };
  }
}
const notes = new Set();

/** Until it gets a definitive (non-5xx, non-429, reachable) answer. */
async function httpSure(method, p, opts = {}, timeoutMs = 180_000) {
  const t0 = Date.now();
  for (;;) {
    const res = await http(method, p, opts);
    if (res.status !== 0 && res.status < 500 && res.status !== 429) return res;
    if (res.status === 429) counts.rateLimited++;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`${method} ${p}: no answer in ${timeoutMs} ms (last ${res.status})`);
    await sleep(between(100, 400));
  }
}

async function tokenFor(role, sub, merchantId) {
  const k = `${role}:${sub}:${merchantId ?? ""}`;
  if (!tokenCache.has(k)) {
    const res = await httpSure("POST", "/api/dev/token", {
      body: { role, sub, ...(merchantId ? { merchantId } : {}) },
    });
    if (res.status !== 200) throw new Error(`dev token refused: ${res.status} ${JSON.stringify(res.body)}`);
    tokenCache.set(k, res.body.token);
  }
  return tokenCache.get(k);
}

// ------------------------------------------------------------------ operations and the ledger

function learn(m, orders) {
  for (const o of orders) {
    const had = m.known.get(o.id);
    if (!had || had.version < o.version) m.known.set(o.id, o);
  }
}

function normaliseBody(body) {
  if (body?.error) return { ok: false, code: body.error.code };
  if (body?.results)
    return {
      ok: true,
      results: body.results.map((r) => ({
        orderId: r.orderId,
        ok: r.ok,
        ...(r.order ? { order: r.order } : {}),
        ...(r.error ? { code: r.error.code } : {}),
      })),
    };
  return { ok: true, orders: [body] };
}

function normaliseReply(env) {
  if (env.event === "ERROR") return { ok: false, code: env.payload.code };
  if (env.event === "BULK_RESULT") return normaliseBody({ results: env.payload.results });
  return { ok: true, orders: [env.payload.order] };
}

const committedOrders = (outcome) => [
  ...(outcome?.orders ?? []),
  ...(outcome?.results ?? []).flatMap((r) => (r.order ? [r.order] : [])),
];

async function attempt(entry, useSocket) {
  const screen = entry.screen;
  if (useSocket && entry.frame && screen?.connected) {
    const socket = screen.socket;
    const from = socket.envelopes.length;
    try {
      socket.send({ ...entry.frame, requestId: entry.key });
    } catch {
      return null;
    }
    const reply = await socket.reply(entry.key, from);
    if (!reply) return null; // the socket went away first: the action may or may not have happened
    if (reply.event === "ERROR" && (reply.payload.code === "RATE_LIMITED" || reply.payload.code === "INTERNAL"))
      return null;
    return normaliseReply(reply);
  }
  const res = await http(entry.rest.method, entry.rest.path, {
    token: entry.rest.token,
    body: entry.rest.body,
    key: entry.key,
  });
  if (res.status === 429) counts.rateLimited++;
  if (res.status === 0 || res.status >= 500 || res.status === 429 || res.body === null) return null;
  return normaliseBody(res.body);
}

/** Runs an entry until it has a definitive answer, retrying under the same key. */
async function execute(m, entry) {
  ledger.set(entry.key, entry);
  let useSocket = entry.channel === "socket";
  const t0 = Date.now();
  for (;;) {
    const outcome = await attempt(entry, useSocket);
    if (outcome) return record(m, entry, outcome);
    // Lost answer (restart, dropped socket, overload): the same operation again, same key, over
    // REST - the socket's requestId and REST's Idempotency-Key are one namespace per caller.
    counts.ambiguousRetried++;
    useSocket = false;
    if (Date.now() - t0 > 300_000) throw new Error(`no definitive answer for ${entry.key} in 5 min`);
    await sleep(between(100, 500));
  }
}

function record(m, entry, outcome) {
  entry.answers = (entry.answers ?? 0) + 1;
  if (!entry.first) entry.first = outcome;
  else if (canonical(entry.first) !== canonical(outcome)) {
    checks.fail(
      "idempotent retries answer as the first time",
      `${entry.key}: first ${canonical(entry.first).slice(0, 200)} then ${canonical(outcome).slice(0, 200)}`,
    );
  }
  if (!outcome.ok) counts.refused++;
  learn(m, committedOrders(outcome));
  return outcome;
}

async function retryEntry(m, entry) {
  entry.retries = (entry.retries ?? 0) + 1;
  counts.idempotentRetries++;
  const t0 = Date.now();
  for (;;) {
    const outcome = await attempt(entry, entry.channel === "socket" && chance(0.5));
    if (outcome) return record(m, entry, outcome);
    if (Date.now() - t0 > 300_000) throw new Error(`retry of ${entry.key} never answered`);
    await sleep(between(100, 500));
  }
}

async function placeOrder(m, leaveToExpire) {
  const customer = `cust-${between(1, 40)}`;
  const entry = {
    key: newKey("place"),
    scope: `customer:${customer}`,
    merchantId: m.id,
    kind: "place",
    channel: "rest",
    rest: {
      method: "POST",
      path: "/api/orders",
      body: {
        merchantId: m.id,
        items: [{ name: "Chaos pizza", quantity: between(1, 3), unitPriceCents: 1200 }],
        notes: `order ${keySeq}`,
      },
      token: await tokenFor("customer", customer),
    },
  };
  const outcome = await execute(m, entry);
  const order = outcome.orders?.[0];
  if (!outcome.ok || !order) throw new Error(`placing failed: ${canonical(outcome)}`);
  if (m.orders.includes(order.id)) return; // a retry of a placement that already counted
  m.orders.push(order.id);
  counts.orders++;
  lastPlacedAt = Date.now();
  if (leaveToExpire) {
    m.doomed.add(order.id);
    counts.leftToExpire++;
  }
  if (chance(0.3)) await retryEntry(m, entry);
  const trackers = world.reduce((n, x) => n + x.trackers.length, 0);
  if (trackers < CFG.maxTrackers && chance(0.25)) {
    const tracker = new Watcher({
      kind: "order",
      base: server.base,
      path: `/ws/order/${order.id}`,
      token: await tokenFor("customer", customer),
      name: `tracker ${order.id}`,
    });
    m.trackers.push(tracker);
    await tracker.connect().catch(() => undefined); // the reconnect loop retries
  }
}
let lastPlacedAt = 0;

function nextAction(order) {
  const any = [
    "accept",
    "reject",
    "preparing",
    "ready",
    "prep-time",
    "cancel",
    "driver",
    "arrived",
    "pickup",
    "deliver",
  ];
  if (!order || chance(0.08)) return pick(any);
  const byStatus = {
    PLACED: ["accept", "accept", "accept", "bulk-accept", "reject", "cancel", "driver"],
    ACCEPTED: ["preparing", "preparing", "ready", "prep-time", "driver", "arrived", "bulk-ready", "cancel"],
    PREPARING: ["ready", "ready", "bulk-ready", "prep-time", "driver", "arrived"],
    READY: order.driver ? ["pickup", "pickup", "arrived", "driver"] : ["driver", "driver", "cancel"],
    PICKED_UP: ["deliver"],
  };
  return pick(byStatus[order.status] ?? any);
}

async function act(m, orderId, kind, channelHint) {
  const order = m.known.get(orderId);
  const useSocket = channelHint ? channelHint === "socket" : chance(0.5);
  const screen = pick(m.screens);
  const base = `/api/merchants/${m.id}/orders`;
  const sub = useSocket ? screen.sub : `staff-rest-${between(1, 3)}`;
  const staffToken = await tokenFor("merchant", sub, m.id);
  const merchantAction = (action, p, body, payload) => ({
    key: newKey(kind),
    scope: `merchant:${sub}`,
    merchantId: m.id,
    kind,
    channel: useSocket ? "socket" : "rest",
    rest: { method: "POST", path: p, body, token: staffToken },
    frame: { action, payload },
    screen,
  });
  const plain = async (scope, p, body, role, who) => ({
    key: newKey(kind),
    scope,
    merchantId: m.id,
    kind,
    channel: "rest",
    rest: { method: "POST", path: p, body, token: await tokenFor(role, who) },
  });
  let entry;
  switch (kind) {
    case "accept":
      entry = merchantAction(
        "MERCHANT_ACCEPT",
        `${base}/${orderId}/accept`,
        { prepMinutes: 12 },
        { orderId, prepMinutes: 12 },
      );
      break;
    case "reject":
      entry = merchantAction(
        "MERCHANT_REJECT",
        `${base}/${orderId}/reject`,
        { reason: "sold out" },
        { orderId, reason: "sold out" },
      );
      break;
    case "preparing":
      entry = merchantAction("MERCHANT_MARK_PREPARING", `${base}/${orderId}/preparing`, undefined, { orderId });
      break;
    case "ready":
      entry = merchantAction("MERCHANT_MARK_READY", `${base}/${orderId}/ready`, undefined, { orderId });
      break;
    case "prep-time":
      entry = merchantAction(
        "MERCHANT_UPDATE_PREP_TIME",
        `${base}/${orderId}/prep-time`,
        { prepMinutes: 25 },
        { orderId, prepMinutes: 25 },
      );
      break;
    case "bulk-accept":
    case "bulk-ready": {
      const others = m.orders.filter((id) => id !== orderId && !m.doomed.has(id) && chance(0.05)).slice(0, 5);
      const orderIds = [orderId, ...others];
      const accept = kind === "bulk-accept";
      entry = merchantAction(
        accept ? "BULK_ACCEPT" : "BULK_MARK_READY",
        `${base}/bulk`,
        { action: accept ? "accept" : "ready", orderIds },
        { orderIds },
      );
      counts.bulk++;
      break;
    }
    case "cancel":
      entry =
        order?.status === "PLACED" && chance(0.5)
          ? await plain(
              `customer:${order.customerId}`,
              `/api/orders/${orderId}/cancel`,
              { reason: "chaos cancel" },
              "customer",
              order.customerId,
            )
          : await plain("dispatch:ops", `/api/orders/${orderId}/cancel`, { reason: "chaos cancel" }, "dispatch", "ops");
      break;
    case "driver": {
      const driverId = `drv-${between(1, 6)}`;
      entry = await plain(
        "dispatch:ops",
        `/api/orders/${orderId}/driver`,
        { driverId, name: `Driver ${driverId}` },
        "dispatch",
        "ops",
      );
      break;
    }
    default: {
      // arrived / pickup / deliver: mostly the assigned driver, sometimes another (refused).
      const driverId = order?.driver && chance(0.9) ? order.driver.id : `drv-${between(1, 6)}`;
      entry = await plain(`driver:${driverId}`, `/api/orders/${orderId}/${kind}`, undefined, "driver", driverId);
    }
  }
  if (entry.channel === "socket") counts.socketActions++;
  counts.actions++;
  const outcome = await execute(m, entry);
  if (chance(0.08)) await retryEntry(m, entry);
  return outcome;
}

async function race(m) {
  const placed = m.orders.filter((id) => !m.doomed.has(id) && m.known.get(id)?.status === "PLACED");
  if (placed.length === 0) return;
  const orderId = pick(placed);
  counts.races++;
  // Two screens and a REST client fight over one PLACED order: at most one of them wins.
  const outcomes = await Promise.all([
    act(m, orderId, "accept", "socket"),
    act(m, orderId, "reject", "rest"),
    act(m, orderId, "accept", "rest"),
  ]);
  if (outcomes.filter((o) => o.ok).length > 1) checks.fail("races on one order have at most one winner", orderId);
}

// ------------------------------------------------------------------ the drivers of the run

const goals = () => ({
  orders: counts.orders >= CFG.orders,
  restarts: counts.restarts >= CFG.restarts,
  socketDrops: counts.socketDrops >= CFG.faults,
  relayOrderRoom: counts.relayFaults.orderRoom >= CFG.faults,
  relayProjection: counts.relayFaults.projection >= CFG.faults,
  leftToExpire: counts.leftToExpire >= CFG.deadlines,
});
const allGoals = () => Object.values(goals()).every(Boolean);
let stopping = false;
const overTime = () => Date.now() - startedAt > CFG.maxMinutes * 60_000;

async function trafficWorker() {
  while (!stopping) {
    if (!server.up) {
      await sleep(200);
      continue;
    }
    const m = pick(world);
    // Keep placing in step with the restarts, so orders are spread over the whole run.
    const progress = Math.min(1, (counts.restarts + 1) / Math.max(1, CFG.restarts));
    const wantOrders = Math.max(CFG.merchants * 3, Math.ceil(CFG.orders * progress));
    const r = random();
    if (counts.orders < CFG.orders && (counts.orders < wantOrders || r < 0.05)) {
      const doomedShort = counts.leftToExpire < CFG.deadlines;
      await placeOrder(
        m,
        doomedShort &&
          chance(Math.max(0.15, (CFG.deadlines - counts.leftToExpire) / Math.max(1, CFG.orders - counts.orders))),
      );
    } else if (r < 0.1) await race(m);
    else if (r < 0.14) {
      const mine = [...ledger.values()].filter((e) => e.first && e.merchantId === m.id && e.kind !== "place");
      if (mine.length) await retryEntry(m, pick(mine));
    } else {
      const live = m.orders.filter((id) => !m.doomed.has(id) && !isFinal(m.known.get(id)?.status ?? "PLACED"));
      // Mostly orders that can still move; now and then a finished one (which must refuse).
      if (live.length === 0 && !chance(0.1)) {
        await sleep(between(50, 150));
        continue;
      }
      const candidates = live.length > 0 && chance(0.92) ? live : m.orders.filter((id) => !m.doomed.has(id));
      if (candidates.length === 0) {
        await sleep(50);
        continue;
      }
      const orderId = pick(candidates);
      await act(m, orderId, nextAction(m.known.get(orderId)));
    }
  }
}

async function faultLoop() {
  while (!stopping) {
    await sleep(between(...CFG.faultEveryMs));
    if (stopping || !server.up) continue;
    if (random() < 0.45) {
      const w = pick(world.flatMap((m) => [...m.screens, ...m.trackers]).filter((x) => x.connected));
      if (w && (await w.drop())) counts.socketDrops++;
    } else {
      const m = pick(world);
      const ms = between(300, 2500);
      const which = random();
      const body = { merchantId: m.id, afterDelivery: chance(0.3) };
      if (which < 0.65) body.failOrderRoomRelaysForMs = ms;
      if (which > 0.35) body.failProjectionForMs = ms;
      const res = await http("POST", "/api/dev/faults", { token: await tokenFor("dispatch", "chaos-faults"), body });
      if (res.status === 200) {
        if (body.failOrderRoomRelaysForMs) counts.relayFaults.orderRoom++;
        if (body.failProjectionForMs) counts.relayFaults.projection++;
        if (body.afterDelivery) counts.relayFaults.afterDelivery++;
      } else if (res.status !== 0) notes.add(`fault injection answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  }
}

async function restartLoop() {
  while (!stopping) {
    await sleep(between(...CFG.uptimeMs));
    if (stopping || counts.restarts >= CFG.restarts) return;
    await server.crash();
    counts.restarts++;
    await server.start();
    if (counts.restarts % 10 === 0 || counts.restarts === CFG.restarts)
      log(`restart ${counts.restarts}/${CFG.restarts}: ${JSON.stringify(progressLine())}`);
  }
}

async function reconnectLoop() {
  while (!stopping) {
    await sleep(250);
    if (!server.up) continue;
    for (const w of world.flatMap((m) => [...m.screens, ...m.trackers])) {
      if (w.connected || stopping) continue;
      const cutBefore = w.cut;
      if (await w.resumeIfClosed().catch(() => false)) {
        counts.resumes++;
        if (w.cut > cutBefore) counts.socketsCutByRestart++;
      }
    }
  }
}

const progressLine = () => ({
  orders: counts.orders,
  actions: counts.actions,
  drops: counts.socketDrops,
  relay: counts.relayFaults,
  toExpire: counts.leftToExpire,
  startMs: server.startMs.length ? Math.round(server.startMs.reduce((a, b) => a + b, 0) / server.startMs.length) : null,
});

// ------------------------------------------------------------------ checks

const checks = {
  results: new Map(),
  define(name) {
    if (!this.results.has(name)) this.results.set(name, []);
  },
  fail(name, detail) {
    this.define(name);
    this.results.get(name).push(detail);
  },
};

async function waitUntil(what, pred, timeoutMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await pred()) return true;
    await sleep(1000);
  }
  log(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
  return false;
}

async function truthOf(m, dispatch) {
  const orders = new Map();
  for (const id of m.orders) {
    const res = await httpSure("GET", `/api/orders/${id}`, { token: dispatch });
    if (res.status === 200) orders.set(id, res.body);
    else checks.fail("every order placed exists in its room", `${id}: ${res.status}`);
  }
  return orders;
}

async function boardOf(m, token) {
  const orders = [];
  let cursor;
  let seq = null;
  do {
    const res = await httpSure(
      "GET",
      `/api/merchants/${m.id}/orders?status=active&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { token },
    );
    orders.push(...res.body.orders);
    seq ??= res.body.seq;
    if (res.body.seq !== seq) return null; // moved while paging: try again
    cursor = res.body.nextCursor;
  } while (cursor);
  return { orders, seq };
}

async function historyOf(m, token) {
  const orders = new Map();
  let cursor;
  do {
    const res = await httpSure(
      "GET",
      `/api/merchants/${m.id}/orders?status=all&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { token },
    );
    for (const o of res.body.orders) orders.set(o.id, o);
    cursor = res.body.nextCursor;
  } while (cursor);
  return orders;
}

async function finalChecks() {
  const dispatch = await tokenFor("dispatch", "chaos-checker");
  const names = [
    "every order left unaccepted expired at its deadline (alarms survive restarts)",
    "every screen received every seq exactly once, in order",
    "every screen's view equals the merchant room's board",
    "screens of one merchant saw identical streams, equal to the room's audit trail",
    "every committed change has exactly one event, no event lacks a change",
    "every order moved only along the contract's table",
    "every idempotent retry applied once and answered as the first time",
    "every customer socket's last order equals the room's",
    "every order room holds the merchant room's version",
    "D1 equals the rooms (orders and every event)",
    "every answer was JSON",
    "idempotent retries answer as the first time",
    "races on one order have at most one winner",
  ];
  for (const n of names) checks.define(n);

  // Deadlines: the last order placed needs its 60 s, then its alarm; nothing may stay PLACED.
  const expireBy = lastPlacedAt + CFG.acceptWindowSeconds * 1000;
  log(
    `waiting for the last deadlines (${Math.max(0, Math.round((expireBy - Date.now()) / 1000))} s), then for delivery`,
  );
  await sleep(Math.max(0, expireBy - Date.now()));
  const watchers = world.flatMap((m) => [...m.screens, ...m.trackers]);
  for (const w of watchers) await w.resumeIfClosed().catch(() => undefined);
  await waitUntil(
    "no order to be PLACED any more on any screen",
    async () => {
      for (const s of world.flatMap((m) => m.screens)) {
        await s.until(() => true, 1000);
        if ([...s.board.values()].some((o) => o.status === "PLACED")) return false;
      }
      return true;
    },
    120_000,
  );
  let truth = new Map();
  for (const m of world) for (const [id, o] of await truthOf(m, dispatch)) truth.set(id, o);
  for (const m of world) {
    for (const id of m.doomed) {
      const o = truth.get(id);
      if (o?.status !== "EXPIRED") checks.fail(names[0], `${id} is ${o?.status} v${o?.version}`);
      else if (Date.parse(o.expiredAt) < Date.parse(o.acceptBy))
        checks.fail(names[0], `${id} expired at ${o.expiredAt}, before acceptBy ${o.acceptBy}`);
      else
        counts.expiryLateMaxMs = Math.max(
          counts.expiryLateMaxMs ?? 0,
          Date.parse(o.expiredAt) - Date.parse(o.acceptBy),
        );
    }
  }
  for (const o of truth.values())
    if (o.status === "PLACED") checks.fail(names[0], `${o.id} still PLACED after its deadline ${o.acceptBy}`);
  counts.expired = [...truth.values()].filter((o) => o.status === "EXPIRED").length;

  // Convergence: the outbox delivers on its own (alarms and backoff, ≤ 30 s).
  const boards = new Map();
  const history = new Map();
  await waitUntil(
    "screens, trackers and D1 to catch up",
    async () => {
      for (const m of world) {
        const board = await boardOf(m, dispatch);
        if (!board) return false;
        boards.set(m.id, board);
        history.set(m.id, await historyOf(m, dispatch));
      }
      for (const m of world) {
        const seq = boards.get(m.id).seq;
        for (const s of m.screens) if (!(await s.until((w) => w.lastSeq >= seq, 5000))) return false;
        for (const t of m.trackers) {
          const want = truth.get(t.path.split("/").pop());
          if (!(await t.until((w) => w.order?.version >= want.version, 5000))) return false;
        }
        const h = history.get(m.id);
        if (m.orders.some((id) => h.get(id)?.version !== truth.get(id)?.version)) return false;
      }
      return true;
    },
    150_000,
  );
  // Truth again, now that all is quiet.
  truth = new Map();
  for (const m of world) for (const [id, o] of await truthOf(m, dispatch)) truth.set(id, o);

  const trails = new Map();
  for (const m of world) {
    const board = boards.get(m.id);
    counts.events += board.seq;
    // Audit trails (the room's log, per order): versions 1..v, table moves only, one event per change.
    const seenKeys = new Map();
    let versions = 0;
    for (const id of m.orders) {
      const res = await httpSure("GET", `/api/orders/${id}/events`, { token: dispatch });
      const events = res.body.events;
      trails.set(id, events);
      const order = truth.get(id);
      versions += order.version;
      const vs = events.map((e) => e.order.version);
      if (canonical(vs) !== canonical(Array.from({ length: order.version }, (_, i) => i + 1)))
        checks.fail(names[4], `${id} at v${order.version} has events for versions ${vs.join(",")}`);
      if (canonical(events.at(-1)?.order) !== canonical(order))
        checks.fail(names[4], `${id}: last event differs from the order`);
      for (let i = 1; i < events.length; i++) {
        const [from, to] = [events[i - 1].order.status, events[i].order.status];
        if (isFinal(from)) checks.fail(names[5], `${id} changed after final ${from}`);
        if (
          from !== to &&
          !STATUS_TRANSITIONS.some((t) => t.from === from && t.to === to && t.by === events[i].actor.role)
        )
          checks.fail(names[5], `${id}: ${from} → ${to} by ${events[i].actor.role}`);
      }
      for (const e of events) {
        if (e.requestId === undefined) {
          if (e.actor.role !== "system" || e.event !== "ORDER_EXPIRED")
            checks.fail(names[4], `${id} v${e.order.version} ${e.event} has no requestId`);
          continue;
        }
        const k = `${e.requestId}|${id}`;
        seenKeys.set(k, (seenKeys.get(k) ?? 0) + 1);
        const entry = ledger.get(e.requestId);
        if (!entry) {
          counts.diverged++;
          checks.fail(names[4], `${id} v${e.order.version}: unknown requestId ${e.requestId}`);
          continue;
        }
        if (`${e.actor.role}:${e.actor.id}` !== entry.scope)
          checks.fail(
            names[4],
            `${id} v${e.order.version}: actor ${e.actor.role}:${e.actor.id}, expected ${entry.scope}`,
          );
        if (!committedOrders(entry.first).some((o) => canonical(o) === canonical(e.order))) {
          counts.diverged++;
          checks.fail(names[4], `${id} v${e.order.version} (${e.event}) is not what ${e.requestId} answered`);
        }
      }
    }
    if (versions !== board.seq)
      checks.fail(names[4], `${m.id}: ${versions} changes across its orders, ${board.seq} events in its stream`);
    for (const [k, n] of seenKeys) {
      if (n > 1) {
        counts.duplicated += n - 1;
        checks.fail(names[6], `${k} applied ${n} times`);
      }
    }
    for (const entry of ledger.values()) {
      if (entry.merchantId !== m.id) continue;
      for (const o of committedOrders(entry.first)) {
        if (!seenKeys.has(`${entry.key}|${o.id}`)) {
          counts.lost++;
          checks.fail(names[4], `${entry.key} answered ${o.id} v${o.version} but no event has it`);
        }
      }
      if (entry.retries > 0 && entry.answers < 2)
        checks.fail(names[6], `${entry.key} retried but answered ${entry.answers} time(s)`);
    }

    // Screens: exactly-once streams from their first snapshot, equal to each other and the trails.
    const byOrderVersion = new Map();
    for (const id of m.orders) for (const e of trails.get(id)) byOrderVersion.set(`${id}|${e.order.version}`, e);
    for (const s of m.screens) {
      s.drain();
      for (const v of s.violations) {
        if (v.includes("twice")) counts.duplicated++;
        checks.fail(names[1], v);
      }
      if (s.lastSeq !== board.seq) checks.fail(names[1], `${s.name} at seq ${s.lastSeq}, the room at ${board.seq}`);
      for (let seq = (s.firstSeq ?? 0) + 1; seq <= board.seq; seq++) {
        const env = s.received.get(seq);
        if (!env) {
          if (!s.skipped.has(seq)) {
            counts.lost++;
            checks.fail(names[1], `${s.name} never received seq ${seq}`);
          }
          continue;
        }
        const e = byOrderVersion.get(`${env.payload.order.id}|${env.payload.order.version}`);
        if (
          !e ||
          e.event !== env.event ||
          e.requestId !== env.requestId ||
          canonical(e.order) !== canonical(env.payload.order) ||
          canonical(e.actor) !== canonical(env.payload.actor)
        ) {
          counts.diverged++;
          checks.fail(names[3], `${s.name} seq ${seq} differs from the audit trail`);
        }
      }
      const want = new Map(board.orders.map((o) => [o.id, o]));
      for (const [id, o] of want)
        if (canonical(s.board.get(id)) !== canonical(o))
          checks.fail(names[2], `${s.name}: ${id} shows v${s.board.get(id)?.version}, room v${o.version}`);
      for (const id of s.board.keys())
        if (!want.has(id)) checks.fail(names[2], `${s.name}: shows ${id}, not on the board`);
    }
    const [a, b] = m.screens;
    for (const [seq, env] of a.received)
      if (b.received.has(seq) && canonical(b.received.get(seq)) !== canonical(env))
        checks.fail(names[3], `${m.id} seq ${seq}: the screens disagree`);

    // Trackers: gap-free order-room streams ending at the room's version.
    for (const t of m.trackers) {
      t.drain();
      for (const v of t.violations) {
        if (v.includes("twice")) counts.duplicated++;
        checks.fail(names[7], v);
      }
      const id = t.path.split("/").pop();
      if (canonical(t.order) !== canonical(truth.get(id))) {
        counts.diverged++;
        checks.fail(names[7], `${t.name} shows v${t.order?.version}, the room v${truth.get(id)?.version}`);
      }
    }

    // D1 history (through the API) equals the rooms.
    const h = history.get(m.id);
    if (h.size !== m.orders.length)
      checks.fail(names[9], `${m.id}: D1 history has ${h.size} orders, the room ${m.orders.length}`);
    for (const id of m.orders) {
      if (canonical(h.get(id)) !== canonical(truth.get(id))) {
        counts.diverged++;
        checks.fail(names[9], `${id}: D1 v${h.get(id)?.version}, room v${truth.get(id)?.version}`);
      }
    }
  }
  for (const w of watchers) await w.drop().catch(() => undefined);

  // Every order room, read as a fresh tracking page would (its SNAPSHOT).
  log(`reading all ${truth.size} order rooms`);
  const ids = [...truth.keys()];
  let next = 0;
  const readRoom = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const m = world.find((x) => id.startsWith(`${x.id}.`));
      const w = new Watcher({
        kind: "order",
        base: server.base,
        path: `/ws/order/${id}`,
        token: dispatch,
        name: `order room ${id}`,
      });
      let ok = false;
      for (let i = 0; i < 5 && !ok; i++)
        ok = await w.connect(false).then(
          () => true,
          () => false,
        );
      if (!ok) checks.fail(names[8], `${id}: could not open its order room`);
      else if (canonical(w.order) !== canonical(truth.get(id))) {
        counts.diverged++;
        checks.fail(names[8], `${id}: order room v${w.order?.version}, ${m?.id} v${truth.get(id).version}`);
      }
      await w.drop().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: 8 }, readRoom));

  // D1 itself, every row, once the server is stopped (wrangler d1 execute on the same files).
  await server.stop();
  log("server stopped; reading D1 directly");
  const d1 = async (sql) =>
    JSON.parse(
      await runWrangler(
        ["d1", "execute", "DB", "--local", "--persist-to", path.join(tmp, "state"), "--json", "--command", sql],
        { logFile: path.join(tmp, "d1.log") },
      ),
    )[0].results;
  const d1Orders = new Map((await d1("SELECT id, version, json FROM orders")).map((r) => [r.id, r]));
  const d1Events = await d1("SELECT order_id, version, seq, event, request_id, actor_role, actor_id FROM order_events");
  const d1EventsByKey = new Map(d1Events.map((r) => [`${r.order_id}|${r.version}`, r]));
  const ours = new Set(truth.keys());
  for (const [id, o] of truth) {
    const row = d1Orders.get(id);
    if (!row || row.version !== o.version || canonical(JSON.parse(row.json)) !== canonical(o)) {
      counts.diverged++;
      checks.fail(names[9], `${id}: D1 row v${row?.version}, room v${o.version}`);
    }
    for (const e of trails.get(id)) {
      const r = d1EventsByKey.get(`${id}|${e.order.version}`);
      if (
        !r ||
        r.event !== e.event ||
        (r.request_id ?? undefined) !== e.requestId ||
        r.actor_role !== e.actor.role ||
        r.actor_id !== e.actor.id
      ) {
        counts.diverged++;
        checks.fail(
          names[9],
          `${id} v${e.order.version}: D1 event ${r ? `${r.event}/${r.request_id}` : "missing"}, room ${e.event}/${e.requestId}`,
        );
      }
    }
  }
  const extra = d1Events.filter(
    (r) => ours.has(r.order_id) && !trails.get(r.order_id).some((e) => e.order.version === r.version),
  );
  for (const r of extra) checks.fail(names[9], `D1 has an event the room does not: ${r.order_id} v${r.version}`);
  const strangers = [...d1Orders.keys()].filter((id) => !ours.has(id) && world.some((m) => id.startsWith(`${m.id}.`)));
  for (const id of strangers) checks.fail(names[9], `D1 has an order nobody placed: ${id}`);

  if (counts.notJson > 0) for (const n of notes) checks.fail(names[10], n);
}

// ------------------------------------------------------------------ main

async function main() {
  if (!fs.existsSync(path.join(REPO, "dashboard", "dist", "index.html")))
    throw new Error("dashboard/dist is missing: run `npm run build` (npm run chaos does)");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ticket-rail-chaos-"));
  // A failed run keeps its state and wrangler log to look at; a passed or interrupted one does not.
  onCleanup(() => {
    if ((exitCode === 0 || interrupted()) && !CFG.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp} (wrangler.log, state)`);
  });
  const persistTo = path.join(tmp, "state");
  log(
    `seed ${CFG.seed}; temp dir ${tmp}; goals: ${CFG.orders} orders, ${CFG.restarts} restarts, ${CFG.faults} socket drops and relay faults of each kind, ${CFG.deadlines} deadlines; at most ${CFG.maxMinutes} min`,
  );
  await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    logFile: path.join(tmp, "migrations.log"),
  });
  server = new DevServer({ port: await freePort(), persistTo, logFile: path.join(tmp, "wrangler.log") });
  await server.start();
  log(`wrangler dev up on ${server.base} in ${server.startMs[0]} ms`);

  const dispatch = await tokenFor("dispatch", "chaos-setup");
  for (let i = 0; i < CFG.merchants; i++) {
    const id = `chaos-${CFG.seed}-m${i}`;
    const res = await httpSure("PUT", `/api/merchants/${id}`, {
      token: dispatch,
      body: { name: `Chaos Kitchen ${i}`, acceptWindowSeconds: CFG.acceptWindowSeconds },
    });
    if (res.status !== 201) throw new Error(`creating ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    const m = { id, screens: [], trackers: [], orders: [], doomed: new Set(), known: new Map() };
    for (let s = 0; s < CFG.screensPerMerchant; s++) {
      const sub = `screen-${s}`;
      const w = new Watcher({
        kind: "merchant",
        base: server.base,
        path: `/ws/merchant/${id}/orders`,
        token: await tokenFor("merchant", sub, id),
        name: `${id} ${sub}`,
      });
      w.sub = sub;
      await w.connect();
      m.screens.push(w);
    }
    world.push(m);
  }

  const loops = [faultLoop(), restartLoop(), reconnectLoop()];
  const workers = Array.from({ length: CFG.workers }, trafficWorker);
  const watchdog = (async () => {
    while (!stopping) {
      await sleep(1000);
      if (allGoals() && counts.restarts >= CFG.restarts) stopping = true;
      if (overTime()) {
        log("time limit reached before every goal");
        stopping = true;
      }
    }
  })();
  await watchdog;
  await Promise.all([...workers, ...loops]);
  if (!server.up) await server.start();
  log(`traffic over: ${JSON.stringify(progressLine())}; checking`);
  await finalChecks();

  const g = goals();
  const goalNames = {
    orders: `at least ${CFG.orders} orders`,
    restarts: `at least ${CFG.restarts} runtime restarts`,
    socketDrops: `at least ${CFG.faults} socket drops`,
    relayOrderRoom: `at least ${CFG.faults} relay failures to order rooms`,
    relayProjection: `at least ${CFG.faults} relay failures to D1`,
    leftToExpire: `at least ${CFG.deadlines} deadlines`,
  };
  for (const [k, ok] of Object.entries(g)) {
    checks.define(goalNames[k]);
    if (!ok) checks.fail(goalNames[k], "not reached");
  }
  if (counts.expired < CFG.deadlines) checks.fail(goalNames.leftToExpire, `only ${counts.expired} orders expired`);
  for (const n of ["lost = 0", "duplicated = 0", "diverged = 0"]) checks.define(n);
  if (counts.lost) checks.fail("lost = 0", String(counts.lost));
  if (counts.duplicated) checks.fail("duplicated = 0", String(counts.duplicated));
  if (counts.diverged) checks.fail("diverged = 0", String(counts.diverged));

  const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
  const avgStart = Math.round(server.startMs.reduce((a, b) => a + b, 0) / server.startMs.length);
  console.log(`\nchaos run (seed ${CFG.seed}) against wrangler dev on ${server.base}, ${minutes} min`);
  console.log(
    `  orders            ${counts.orders} (${counts.leftToExpire} left to expire, ${counts.expired} expired, at most ${((counts.expiryLateMaxMs ?? 0) / 1000).toFixed(1)} s after acceptBy)`,
  );
  console.log(
    `  actions           ${counts.actions} (${counts.socketActions} over sockets, ${counts.bulk} bulk, ${counts.races} races, ${counts.refused} refused answers)`,
  );
  console.log(
    `  idempotent retries ${counts.idempotentRetries} deliberate, ${counts.ambiguousRetried} after a lost answer; ${counts.rateLimited} rate-limited`,
  );
  console.log(
    `  disconnects       ${counts.socketDrops} injected socket drops, ${counts.socketsCutByRestart} sockets cut by restarts, ${counts.resumes} resumes with since`,
  );
  console.log(
    `  restarts          ${counts.restarts} (SIGKILL wrangler dev + workerd, restart on the same persist dir; avg start ${avgStart} ms)`,
  );
  console.log(
    `  relay failures    ${counts.relayFaults.orderRoom} to order rooms, ${counts.relayFaults.projection} to D1 (${counts.relayFaults.afterDelivery} as lost acknowledgements)`,
  );
  console.log(`  events            ${counts.events}`);
  console.log(`  lost = ${counts.lost}, duplicated = ${counts.duplicated}, diverged = ${counts.diverged}`);
  console.log("checks:");
  let failed = 0;
  for (const [name, problems] of checks.results) {
    console.log(`  ${problems.length === 0 ? "PASS" : "FAIL"}  ${name}`);
    for (const p of problems.slice(0, 8)) console.log(`          ${p}`);
    if (problems.length > 8) console.log(`          … and ${problems.length - 8} more`);
    if (problems.length) failed++;
  }
  console.log(`RESULT ${JSON.stringify({ seed: CFG.seed, ...counts, failedChecks: failed })}`);
  return failed === 0;
}

let exitCode = 1;
stopOnSignals((signal) => {
  console.log(`${signal}: stopping everything the chaos run started`);
  stopping = true;
});

try {
  exitCode = (await main()) ? 0 : 1;
} catch (err) {
  console.error(`chaos run failed: ${err?.stack ?? err}`);
  exitCode = 1;
}
stopping = true;
await stopAll();
process.exit(exitCode);
