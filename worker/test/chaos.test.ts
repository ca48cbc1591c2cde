/**
 * A short fault run inside the test pool (the long one against a real `wrangler dev` is
 * `npm run chaos`, bench/chaos/; both use the chaos core, bench/chaos/core/). Several merchants,
 * kitchen screens and customer tracking sockets; a stream of orders and actions over REST and
 * sockets, bulk, races on one order, idempotent retries; while, at random, sockets drop and
 * resume with `since`, rooms are evicted, relays to order rooms and to D1 fail for a while
 * (before or after the receiver applied them), and deadlines fire. At the end every view, stream,
 * projection and retry is checked against the merchant rooms, the single source of truth, and
 * the counts are printed.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { expect, it } from "vitest";
import {
  type ActionKind,
  type AuditEvent,
  boardDiff,
  Checks,
  canonical,
  checkLog,
  checkOrder,
  checkProjection,
  checkScreensAgree,
  checkStream,
  checkTrail,
  committedOrders,
  type LedgerEntry,
  learn,
  nextAction,
  type Outcome,
  outcomeOfBody,
  outcomeOfReply,
  planAction,
  planPlacement,
  recordAnswer,
  seededRandom,
  trafficCounts,
} from "../../bench/chaos/core/index.ts";
import type { Order } from "../../schema/index.ts";
import { type Faults, faultyTargets, noFaults } from "../rooms/delivery/faulty-targets.ts";
import { merchantOrders, StreamWatcher } from "./chaos-support.ts";
import { token, tokens } from "./support/credentials.ts";
import { ITEMS, merchantStub, orderStub, setupMerchant } from "./support/fixtures.ts";
import { historyRowsOf } from "./support/history.ts";
import { api } from "./support/http.ts";
import { bySeq, inMerchantRoom, merchantLog, orderLog } from "./support/room-seams.ts";

const CONFIG = {
  merchants: 4,
  screensPerMerchant: 2,
  trackersPerMerchant: 3,
  ordersPerMerchant: 30,
  actionsPerMerchant: 120,
  workers: 4,
  /** A fault every this many ms (uniform). */
  faultEveryMs: [20, 80] as const,
  /** Hard stop for the traffic phase, whatever the budgets say. */
  trafficMs: 35_000,
  acceptWindowSeconds: 60,
};

// ------------------------------------------------------------------ randomness (seeded, printed)

const SEED = Date.now() % 2 ** 31;
const rng = seededRandom(SEED);
const { random, pick, chance, between } = rng;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the world

interface Merchant {
  id: string;
  screens: StreamWatcher[];
  trackers: StreamWatcher[];
  orders: string[];
  /** The newest version of each order the harness has seen in any answer. */
  known: Map<string, Order>;
  placed: number;
  actions: number;
  clockOffsetMs: number;
  /** Relay faults of this merchant's room (in wall time), applied by faultyTargets. */
  faults: Faults;
}

type Entry = LedgerEntry<StreamWatcher>;

const counts = {
  seed: SEED,
  merchants: 0,
  ...trafficCounts(),
  disconnects: 0,
  resumes: 0,
  evictions: 0,
  orderRoomEvictions: 0,
  relayFaultsInjected: { orderRoom: 0, projection: 0 },
  relayCallsFailed: { orderRoom: 0, projection: 0 },
  deadlinesFired: 0,
  expired: 0,
  events: 0,
  lost: 0,
  duplicated: 0,
  diverged: 0,
};

const ledger = new Map<string, Entry>();
let keySeq = 0;
const newKey = (kind: string) => `chaos-${SEED}-${++keySeq}-${kind}`;

// ------------------------------------------------------------------ seams (reinstalled after every eviction)

const seamed = new WeakSet<object>();

/** Installs the clock and the relay-fault wrapper on the live instance, once per instance. */
async function ensureSeams(m: Merchant): Promise<void> {
  await inMerchantRoom(m.id, (room) => {
    if (seamed.has(room)) return;
    seamed.add(room);
    room.clock = () => Date.now() + m.clockOffsetMs;
    room.deliveryTargets = faultyTargets(room.deliveryTargets, m.faults, Date.now);
  });
}

// ------------------------------------------------------------------ operations

const REPLIES = new Set(["ACK", "ERROR", "BULK_RESULT"]);

/** One attempt of an entry over its channel; null when the answer was lost or was no answer. */
async function attempt(entry: Entry, useSocket: boolean): Promise<Outcome | null> {
  const screen = entry.screen;
  if (useSocket && entry.frame && screen) {
    await screen.noticeClosed();
    if (screen.connected) {
      const socket = screen.socket!;
      const before = socket.envelopes.length;
      try {
        socket.send({ ...entry.frame, requestId: entry.key });
      } catch {
        return null;
      }
      try {
        await socket.until(
          (envs) =>
            envs.slice(before).some((e) => e.requestId === entry.key && REPLIES.has(e.event)) || socket.closed !== null,
          10_000,
          `reply to ${entry.key}`,
        );
      } catch {
        return null;
      }
      const reply = socket.envelopes.slice(before).find((e) => e.requestId === entry.key && REPLIES.has(e.event));
      if (!reply) return null; // closed before answering: the action may or may not have happened
      if (reply.event === "ERROR" && reply.payload.code === "RATE_LIMITED") return null;
      return outcomeOfReply(reply);
    }
  }
  try {
    const res = await api(entry.rest.method, entry.rest.path, {
      token: entry.rest.token,
      ...(entry.rest.body !== undefined ? { body: entry.rest.body } : {}),
      headers: { "Idempotency-Key": entry.key },
    });
    if (res.status === 429) counts.rateLimited++;
    if (res.status === 429 || res.status >= 500) return null; // not an answer: never stored, retry
    return outcomeOfBody(res.body);
  } catch {
    return null;
  }
}

/** Runs an entry until it has a definitive answer (retrying with the same key), and records it. */
async function execute(m: Merchant, entry: Entry): Promise<Outcome> {
  ledger.set(entry.key, entry);
  let useSocket = entry.channel === "socket";
  for (let tries = 0; tries < 40; tries++) {
    const outcome = await attempt(entry, useSocket);
    if (outcome) {
      record(m, entry, outcome);
      return outcome;
    }
    // The answer was lost: retry the same operation under the same key, over REST (the
    // socket's requestId and REST's Idempotency-Key are one namespace per caller).
    counts.ambiguousRetried++;
    useSocket = false;
    await sleep(between(20, 120));
  }
  throw new Error(`no definitive answer for ${entry.key}`);
}

function record(m: Merchant, entry: Entry, outcome: Outcome): void {
  const differs = recordAnswer(entry, outcome);
  if (differs) throw new Error(`idempotency broken for ${differs}`);
  if (!outcome.ok) counts.refused++;
  learn(m.known, committedOrders(outcome));
}

async function placeOrder(m: Merchant): Promise<void> {
  const customer = `cust-${between(1, 12)}`;
  const key = newKey("place");
  const token = await tokens.customer(customer);
  const entry: Entry = planPlacement({
    key,
    merchantId: m.id,
    customer,
    token,
    items: ITEMS,
    notes: `chaos ${keySeq}`,
  });
  m.placed++;
  const outcome = await execute(m, entry);
  const order = outcome.orders?.[0];
  if (!outcome.ok || !order) throw new Error(`placing failed: ${canonical(outcome)}`);
  m.orders.push(order.id);
  counts.orders++;
  if (m.trackers.length < CONFIG.trackersPerMerchant && chance(0.5)) {
    const tracker = new StreamWatcher("order", `/ws/order/${order.id}`, token, `${m.id} tracker ${order.id}`);
    await tracker.connect();
    m.trackers.push(tracker);
  }
}

async function act(m: Merchant, orderId: string, kind: ActionKind, channelHint?: "rest" | "socket"): Promise<Outcome> {
  const useSocket = channelHint ? channelHint === "socket" : chance(0.5);
  const screen = pick(m.screens);
  const sub = useSocket ? screen.name.replace(/^.* /, "") : "staff-rest";
  const entry = await planAction({
    merchantId: m.id,
    orderId,
    order: m.known.get(orderId),
    kind,
    key: newKey(kind),
    useSocket,
    screen,
    staff: { sub, token: useSocket ? screen.token : await tokens.merchant(m.id, "staff-rest") },
    tokenFor: (role, who) => token(role, who),
    rng,
    bulkWith: () => m.orders.filter((id) => id !== orderId && chance(0.15)).slice(0, 4),
    drivers: 4,
  });
  if (kind.startsWith("bulk")) counts.bulk++;
  if (entry.channel === "socket") counts.socketActions++;
  counts.actions++;
  m.actions++;
  const outcome = await execute(m, entry);
  // An idempotent retry right away, as a client whose answer got lost would send.
  if (chance(0.1)) await retryEntry(m, entry);
  return outcome;
}

/** Sends an entry again under its key; the answer must equal the first and nothing may change. */
async function retryEntry(m: Merchant, entry: Entry): Promise<void> {
  entry.retries++;
  counts.idempotentRetries++;
  for (let tries = 0; tries < 40; tries++) {
    const outcome = await attempt(entry, entry.channel === "socket" && chance(0.5));
    if (outcome) {
      record(m, entry, outcome);
      return;
    }
    await sleep(between(20, 120));
  }
  throw new Error(`retry of ${entry.key} never answered`);
}

async function race(m: Merchant): Promise<void> {
  const placed = m.orders.filter((id) => m.known.get(id)?.status === "PLACED");
  if (placed.length === 0) return;
  const orderId = pick(placed);
  counts.races++;
  // Two screens and a REST client fight over one PLACED order: at most one of accept/reject wins.
  const outcomes = await Promise.all([
    act(m, orderId, "accept", "socket"),
    act(m, orderId, "reject", "rest"),
    act(m, orderId, "accept", "rest"),
  ]);
  const winners = outcomes.filter((o) => o.ok).length;
  if (winners > 1) throw new Error(`race on ${orderId}: ${winners} winners`);
}

const faultsEnough = () =>
  counts.disconnects >= 3 &&
  counts.evictions >= 2 &&
  counts.relayFaultsInjected.orderRoom >= 3 &&
  counts.relayFaultsInjected.projection >= 3 &&
  counts.deadlinesFired >= 3;

async function worker(world: Merchant[], deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const budgetLeft = world.filter(
      (m) => m.placed < CONFIG.ordersPerMerchant || m.actions < CONFIG.actionsPerMerchant,
    );
    if (budgetLeft.length === 0 && faultsEnough()) return;
    await maybeInjectFault(world);
    const m = pick(budgetLeft.length > 0 ? budgetLeft : world);
    const r = random();
    if (m.placed < CONFIG.ordersPerMerchant && (r < 0.3 || m.orders.length < 3)) await placeOrder(m);
    else if (r < 0.36) await race(m);
    else if (r < 0.42 && ledger.size > 0) {
      const mine = [...ledger.values()].filter((e) => e.first && e.merchantId === m.id && e.kind !== "place");
      if (mine.length) await retryEntry(m, pick(mine));
    } else if (m.orders.length > 0) {
      const orderId = pick(m.orders);
      await act(m, orderId, nextAction(m.known.get(orderId), rng, 0.1));
    }
  }
}

// ------------------------------------------------------------------ faults

async function reconnectSome(world: Merchant[], p: number): Promise<void> {
  for (const w of world.flatMap((m) => [...m.screens, ...m.trackers])) {
    if (!w.connected && chance(p) && (await w.resumeIfClosed())) counts.resumes++;
  }
}

async function injectFault(world: Merchant[]): Promise<void> {
  const m = pick(world);
  const r = random();
  if (r < 0.25) {
    const w = pick([...m.screens, ...m.trackers].filter((x) => x.connected));
    if (w) {
      await w.drop();
      counts.disconnects++;
    }
  } else if (r < 0.37) {
    const sockets = pick(["hibernate", "close"] as const);
    await evictDurableObject(merchantStub(m.id), { webSockets: sockets }).then(
      () => counts.evictions++,
      () => undefined, // not running right now: nothing to evict
    );
    await ensureSeams(m);
  } else if (r < 0.42 && m.trackers.length > 0) {
    const t = pick(m.trackers);
    const orderId = t.path.split("/").pop()!;
    await evictDurableObject(orderStub(orderId), { webSockets: pick(["hibernate", "close"] as const) }).then(
      () => counts.orderRoomEvictions++,
      () => undefined,
    );
  } else if (r < 0.72) {
    const forMs = between(100, 900);
    m.faults.afterDelivery = chance(0.3);
    const which = random();
    if (which < 0.7) {
      m.faults.orderRoomUntil = Date.now() + forMs;
      counts.relayFaultsInjected.orderRoom++;
    }
    if (which > 0.3) {
      m.faults.historyUntil = Date.now() + forMs;
      counts.relayFaultsInjected.projection++;
    }
    await ensureSeams(m);
  } else if (r < 0.84) {
    // Deadlines: the room's clock jumps ahead; the alarm expires whatever is past acceptBy.
    m.clockOffsetMs += between(30, 70) * 1000;
    await ensureSeams(m);
    await runDurableObjectAlarm(merchantStub(m.id));
    counts.deadlinesFired++;
  } else {
    await reconnectSome(world, 0.8);
  }
}

/**
 * Faults are injected from the traffic loops themselves, on a Date.now() schedule: inside workerd
 * a timer-driven loop is starved while requests keep the event loop busy, so a separate
 * setTimeout loop would barely run during the traffic it is meant to disturb.
 */
let nextFaultAt = 0;
let injecting = false;
async function maybeInjectFault(world: Merchant[]): Promise<void> {
  if (injecting || Date.now() < nextFaultAt) return;
  injecting = true;
  try {
    await injectFault(world);
    if (chance(0.5)) await reconnectSome(world, 0.5);
  } finally {
    nextFaultAt = Date.now() + between(...CONFIG.faultEveryMs);
    injecting = false;
  }
}

// ------------------------------------------------------------------ the run and its checks

it("chaos: orders and actions under drops, evictions, relay failures and deadlines lose, duplicate and diverge nothing", async () => {
  const started = Date.now();
  const world: Merchant[] = [];
  for (let i = 0; i < CONFIG.merchants; i++) {
    // Auto-pause off: expiries here are chaos, not an absent kitchen, and every order must land.
    const { merchantId } = await setupMerchant({
      acceptWindowSeconds: CONFIG.acceptWindowSeconds,
      autoPause: { afterExpiredInARow: 0, noScreenMinutes: 0 },
    });
    const m: Merchant = {
      id: merchantId,
      screens: [],
      trackers: [],
      orders: [],
      known: new Map(),
      placed: 0,
      actions: 0,
      clockOffsetMs: 0,
      faults: {
        ...noFaults(),
        onFault: (receiver) => counts.relayCallsFailed[receiver === "history" ? "projection" : "orderRoom"]++,
      },
    };
    for (let s = 0; s < CONFIG.screensPerMerchant; s++) {
      const w = new StreamWatcher(
        "merchant",
        `/ws/merchant/${merchantId}/orders`,
        await tokens.merchant(merchantId, `screen-${s}`),
        `${merchantId} screen-${s}`,
      );
      await w.connect();
      m.screens.push(w);
    }
    await ensureSeams(m);
    world.push(m);
  }
  counts.merchants = world.length;

  // Traffic, with faults injected between operations.
  const deadline = Date.now() + CONFIG.trafficMs;
  await Promise.all(Array.from({ length: CONFIG.workers }, () => worker(world, deadline)));

  // Quiesce: faults off, time enough for every backoff, everything delivered, everyone back.
  const problems: string[] = [];
  for (const m of world) {
    m.faults.orderRoomUntil = 0;
    m.faults.historyUntil = 0;
    // Past every acceptance deadline and the longest outbox backoff (30 s): what is still PLACED
    // expires now, in the open, rather than by a stray alarm in the middle of the checks.
    m.clockOffsetMs += CONFIG.acceptWindowSeconds * 1000 + 31_000;
    await ensureSeams(m);
    if (await runDurableObjectAlarm(merchantStub(m.id))) counts.deadlinesFired++;
    let pending = -1;
    for (let i = 0; i < 50 && pending !== 0; i++) {
      pending = (await merchantStub(m.id).deliverPending()).pending;
      if (pending !== 0) await sleep(100);
    }
    if (pending !== 0) problems.push(`${m.id}: ${pending} outbox rows never delivered`);
  }
  await reconnectSome(world, 1);

  // What the rooms hold, checked by the chaos core against the ledger and every client's stream.
  const checks = new Checks([
    "streams",
    "views",
    "screensAgree",
    "changes",
    "table",
    "retries",
    "trackers",
    "orderRooms",
    "projection",
  ]);
  const sameAs = (log: Map<number, string>) => (seq: number, got: unknown) => {
    const stored = log.get(seq);
    return stored !== undefined && canonical(got) === canonical(JSON.parse(stored));
  };
  for (const m of world) {
    const board = (await merchantStub(m.id).board())!;
    const logged = await merchantLog(m.id);
    const log = bySeq(logged);
    const orders = await merchantOrders(m.id);
    counts.events += board.seq;
    counts.expired += [...orders.values()].filter((o) => o.status === "EXPIRED").length;

    // The log: seqs 1..seq; per order, versions 1..v exactly once, only table moves; every event
    // has its change in the ledger (or is the deadline's) and every change its event, once.
    checkLog(checks, m.id, [...log.keys()], board.seq);
    // (A merchant-level event changes no order: it has none.)
    const events: AuditEvent[] = logged.filter((e) => e.order !== undefined);
    const entries = [...ledger.values()].filter((e) => e.merchantId === m.id);
    checkTrail(checks, { merchantId: m.id, orders, events, changes: events.length, entries });

    // Screens: exactly-once streams equal to the log, and views equal to the board.
    for (const s of m.screens) {
      await s.reach(board.seq);
      checkStream(checks, s, board.seq, sameAs(log));
      for (const p of boardDiff(s.name, s.board, board.orders)) checks.fail("views", p);
      if (s.received.size + s.skipped.size !== board.seq - (s.firstSeq ?? 0))
        problems.push(`${s.name}: received ${s.received.size} of ${board.seq}`);
    }
    checkScreensAgree(checks, m.id, m.screens);

    // Order rooms and their trackers, and D1: equal to the merchant room once delivered.
    for (const [id, order] of orders)
      checkOrder(checks, "orderRooms", `order room ${id}`, await orderStub(id).getOrder(), order);
    for (const t of m.trackers) {
      const orderId = t.path.split("/").pop()!;
      const info = await orderStub(orderId).streamInfo();
      await t.reach(info.seq);
      checkStream(checks, t, info.seq, sameAs(bySeq(await orderLog(orderId))), {
        stream: "trackers",
        diverged: "trackers",
      });
      checkOrder(checks, "trackers", t.name, t.order, orders.get(orderId));
    }
    // D1 keeps one lean row per order (the room keeps the order and its trail): at the room's version.
    checkProjection(checks, { orders, d1Orders: await historyRowsOf(m.id) });
  }
  Object.assign(counts, checks.tally);

  for (const w of world.flatMap((m) => [...m.screens, ...m.trackers])) await w.drop();
  problems.push(...checks.failures());
  console.log(
    `chaos (workerd pool) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}` +
      (problems.length ? `\nproblems:\n  ${problems.slice(0, 40).join("\n  ")}` : ""),
  );
  expect(problems).toEqual([]);
  expect(counts.lost + counts.duplicated + counts.diverged).toBe(0);
  // The run really exercised what it claims to.
  expect(counts.orders).toBeGreaterThanOrEqual(CONFIG.merchants * 10);
  expect(faultsEnough()).toBe(true);
  expect(counts.relayCallsFailed.orderRoom + counts.relayCallsFailed.projection).toBeGreaterThan(0);
}, 120_000);
