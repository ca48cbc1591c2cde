/**
 * The chaos run's traffic and faults against `wrangler dev`: orders and actions over REST and
 * sockets (planned by the chaos core), idempotent retries, races on one order; and, concurrently,
 * socket drops, relay failures (POST /api/dev/faults), runtime crashes and restarts, and resumes.
 */
import { isFinal } from "../../schema/transitions.ts";
import { sleep } from "../lib/common.ts";
import {
  type ActionKind,
  committedOrders,
  canonical,
  type LedgerEntry,
  learn,
  nextAction,
  type Outcome,
  outcomeOfBody,
  outcomeOfReply,
  planAction,
  planPlacement,
  recordAnswer,
} from "./core/index.ts";
import type { Harness, Merchant } from "./harness.ts";
import { Watcher } from "./stream.ts";

type Entry = LedgerEntry<Watcher>;

/** One attempt over the entry's channel; null when the answer was lost or was no answer. */
async function attempt(h: Harness, entry: Entry, useSocket: boolean): Promise<Outcome | null> {
  const screen = entry.screen;
  if (useSocket && entry.frame && screen?.connected && screen.socket) {
    const socket = screen.socket;
    const from = socket.envelopes.length;
    try {
      socket.send({ ...entry.frame, requestId: entry.key });
    } catch {
      return null;
    }
    const reply = await socket.reply(entry.key, from);
    if (!reply) return null; // the socket went away first: the action may or may not have happened
    if (reply.event === "ERROR" && ["RATE_LIMITED", "INTERNAL"].includes(reply.payload.code as string)) return null;
    return outcomeOfReply(reply);
  }
  const res = await h.http(entry.rest.method, entry.rest.path, {
    token: entry.rest.token,
    body: entry.rest.body,
    key: entry.key,
  });
  if (res.status === 429) h.counts.rateLimited++;
  if (res.status === 0 || res.status >= 500 || res.status === 429) return null;
  return outcomeOfBody(res.body);
}

function record(h: Harness, m: Merchant, entry: Entry, outcome: Outcome): Outcome {
  const differs = recordAnswer(entry, outcome);
  if (differs) h.checks.fail("sameAnswer", differs);
  if (!outcome.ok) h.counts.refused++;
  learn(m.known, committedOrders(outcome));
  return outcome;
}

/** Runs an entry until it has a definitive answer, retrying under the same key. */
async function execute(h: Harness, m: Merchant, entry: Entry): Promise<Outcome> {
  h.ledger.set(entry.key, entry);
  let useSocket = entry.channel === "socket";
  const t0 = Date.now();
  for (;;) {
    const outcome = await attempt(h, entry, useSocket);
    if (outcome) return record(h, m, entry, outcome);
    // Lost answer (restart, dropped socket, overload): the same operation again, same key, over
    // REST - the socket's requestId and REST's Idempotency-Key are one namespace per caller.
    h.counts.ambiguousRetried++;
    useSocket = false;
    if (Date.now() - t0 > 300_000) throw new Error(`no definitive answer for ${entry.key} in 5 min`);
    await sleep(h.rng.between(100, 500));
  }
}

/** Sends an entry again under its key; the answer must equal the first and nothing may change. */
async function retryEntry(h: Harness, m: Merchant, entry: Entry): Promise<Outcome> {
  entry.retries++;
  h.counts.idempotentRetries++;
  const t0 = Date.now();
  for (;;) {
    const outcome = await attempt(h, entry, entry.channel === "socket" && h.rng.chance(0.5));
    if (outcome) return record(h, m, entry, outcome);
    if (Date.now() - t0 > 300_000) throw new Error(`retry of ${entry.key} never answered`);
    await sleep(h.rng.between(100, 500));
  }
}

async function placeOrder(h: Harness, m: Merchant, leaveToExpire: boolean): Promise<void> {
  const { rng, counts } = h;
  const customer = `cust-${rng.between(1, 40)}`;
  const items = [{ name: "Chaos pizza", quantity: rng.between(1, 3), unitPriceCents: 1200 }];
  const key = h.newKey("place");
  const token = await h.tokenFor("customer", customer);
  const entry: Entry = planPlacement({ key, merchantId: m.id, customer, token, items, notes: `order ${h.keySeq}` });
  const outcome = await execute(h, m, entry);
  const order = outcome.orders?.[0];
  if (!outcome.ok || !order) throw new Error(`placing failed: ${canonical(outcome)}`);
  if (m.orders.includes(order.id)) return; // a retry of a placement that already counted
  m.orders.push(order.id);
  counts.orders++;
  h.lastPlacedAt = Date.now();
  if (leaveToExpire) {
    m.doomed.add(order.id);
    counts.leftToExpire++;
  }
  if (rng.chance(0.3)) await retryEntry(h, m, entry);
  const trackers = h.world.reduce((n, x) => n + x.trackers.length, 0);
  if (trackers < h.cfg.maxTrackers && rng.chance(0.25)) {
    const path = `/ws/order/${order.id}`;
    const tracker = new Watcher({ kind: "order", base: h.server.base, path, token, name: `tracker ${order.id}` });
    m.trackers.push(tracker);
    await tracker.connect().catch(() => undefined); // the reconnect loop retries
  }
}

async function act(h: Harness, m: Merchant, orderId: string, kind: ActionKind, channel?: "rest" | "socket") {
  const { rng } = h;
  const useSocket = channel ? channel === "socket" : rng.chance(0.5);
  const screen = rng.pick(m.screens);
  const sub = useSocket ? screen.sub : `staff-rest-${rng.between(1, 3)}`;
  const entry = await planAction({
    merchantId: m.id,
    orderId,
    order: m.known.get(orderId),
    kind,
    key: h.newKey(kind),
    useSocket,
    screen,
    staff: { sub, token: await h.tokenFor("merchant", sub, m.id) },
    tokenFor: (role, who) => h.tokenFor(role, who),
    rng,
    bulkWith: () => m.orders.filter((id) => id !== orderId && !m.doomed.has(id) && rng.chance(0.05)).slice(0, 5),
    drivers: 6,
  });
  if (kind.startsWith("bulk")) h.counts.bulk++;
  if (entry.channel === "socket") h.counts.socketActions++;
  h.counts.actions++;
  const outcome = await execute(h, m, entry);
  if (rng.chance(0.08)) await retryEntry(h, m, entry);
  return outcome;
}

async function race(h: Harness, m: Merchant): Promise<void> {
  const placed = m.orders.filter((id) => !m.doomed.has(id) && m.known.get(id)?.status === "PLACED");
  if (placed.length === 0) return;
  const orderId = h.rng.pick(placed);
  h.counts.races++;
  // Two screens and a REST client fight over one PLACED order: at most one of them wins.
  const outcomes = await Promise.all([
    act(h, m, orderId, "accept", "socket"),
    act(h, m, orderId, "reject", "rest"),
    act(h, m, orderId, "accept", "rest"),
  ]);
  if (outcomes.filter((o) => o.ok).length > 1) h.checks.fail("races", orderId);
}

/** One of the concurrent clients: places, acts, races and retries until the run stops. */
export async function trafficWorker(h: Harness): Promise<void> {
  const { rng, counts, cfg } = h;
  while (!h.stopping) {
    if (!h.server.up) {
      await sleep(200);
      continue;
    }
    const m = rng.pick(h.world);
    // Keep placing in step with the restarts, so orders are spread over the whole run.
    const progress = Math.min(1, (counts.restarts + 1) / Math.max(1, cfg.restarts));
    const wantOrders = Math.max(cfg.merchants * 3, Math.ceil(cfg.orders * progress));
    const r = rng.random();
    if (counts.orders < cfg.orders && (counts.orders < wantOrders || r < 0.05)) {
      const doomedShort = counts.leftToExpire < cfg.deadlines;
      const share = (cfg.deadlines - counts.leftToExpire) / Math.max(1, cfg.orders - counts.orders);
      await placeOrder(h, m, doomedShort && rng.chance(Math.max(0.15, share)));
    } else if (r < 0.1) await race(h, m);
    else if (r < 0.14) {
      const mine = [...h.ledger.values()].filter((e) => e.first && e.merchantId === m.id && e.kind !== "place");
      if (mine.length) await retryEntry(h, m, rng.pick(mine));
    } else {
      const live = m.orders.filter((id) => !m.doomed.has(id) && !isFinal(m.known.get(id)?.status ?? "PLACED"));
      // Mostly orders that can still move; now and then a finished one (which must refuse).
      if (live.length === 0 && !rng.chance(0.1)) {
        await sleep(rng.between(50, 150));
        continue;
      }
      const candidates = live.length > 0 && rng.chance(0.92) ? live : m.orders.filter((id) => !m.doomed.has(id));
      if (candidates.length === 0) {
        await sleep(50);
        continue;
      }
      const orderId = rng.pick(candidates);
      await act(h, m, orderId, nextAction(m.known.get(orderId), rng, 0.08));
    }
  }
}

/** Socket drops and relay failures, at random moments. */
export async function faultLoop(h: Harness): Promise<void> {
  const { rng, counts } = h;
  while (!h.stopping) {
    await sleep(rng.between(...h.cfg.faultEveryMs));
    if (h.stopping || !h.server.up) continue;
    if (rng.random() < 0.45) {
      const w = rng.pick(h.watchers().filter((x) => x.connected));
      if (w && (await w.drop())) counts.socketDrops++;
      continue;
    }
    const m = rng.pick(h.world);
    const ms = rng.between(300, 2500);
    const which = rng.random();
    const body = {
      merchantId: m.id,
      afterDelivery: rng.chance(0.3),
      ...(which < 0.65 ? { failOrderRoomRelaysForMs: ms } : {}),
      ...(which > 0.35 ? { failProjectionForMs: ms } : {}),
    };
    const res = await h.http("POST", "/api/dev/faults", { token: await h.tokenFor("dispatch", "chaos-faults"), body });
    if (res.status === 200) {
      if (body.failOrderRoomRelaysForMs) counts.relayFaults.orderRoom++;
      if (body.failProjectionForMs) counts.relayFaults.projection++;
      if (body.afterDelivery) counts.relayFaults.afterDelivery++;
    } else if (res.status !== 0) h.notes.add(`fault injection answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
}

/** The runtime crashes (SIGKILL to wrangler dev and its workerd) and restarts on the same state. */
export async function restartLoop(h: Harness, progress: () => unknown): Promise<void> {
  const { counts, cfg } = h;
  while (!h.stopping) {
    await sleep(h.rng.between(...cfg.uptimeMs));
    if (h.stopping || counts.restarts >= cfg.restarts) return;
    await h.server.crash();
    counts.restarts++;
    await h.server.start();
    if (counts.restarts % 10 === 0 || counts.restarts === cfg.restarts)
      h.log(`restart ${counts.restarts}/${cfg.restarts}: ${JSON.stringify(progress())}`);
  }
}

/** Every screen and tracker whose socket went away comes back with `since`. */
export async function reconnectLoop(h: Harness): Promise<void> {
  while (!h.stopping) {
    await sleep(250);
    if (!h.server.up) continue;
    for (const w of h.watchers()) {
      if (w.connected || h.stopping) continue;
      const cutBefore = w.cut;
      if (await w.resumeIfClosed().catch(() => false)) {
        h.counts.resumes++;
        if (w.cut > cutBefore) h.counts.socketsCutByRestart++;
      }
    }
  }
}
