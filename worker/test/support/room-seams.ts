/**
 * The one place tests reach inside a Durable Object: the MerchantOrderRoom's clock, its outbox
 * targets (the fault seam), its instance, and the SQLite tables of the rooms and of CallerKeys.
 * Everything else talks to the product as a client does. When a room's internals change, this
 * module changes and no test does; tests call only the functions below.
 */
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Order } from "../../../schema/index.ts";
import type { MerchantOrderRoom } from "../../rooms/merchant-order-room.ts";
import { type Faults, faultyTargets, noFaults } from "../../rooms/delivery/faulty-targets.ts";
import { backoffMs } from "../../rooms/delivery/receiver.ts";
import type { Operation } from "../../rooms/merchant/operations.ts";
import { merchantStub, orderStub } from "./fixtures.ts";

/** The room's limits that tests measure against. */
export { RETAIN_EVENTS, RETAIN_MS } from "../../rooms/event-log.ts";
export { ARRAY_FRAME_CHARS } from "../../rooms/live-room.ts";
/** The longest a receiver waits before its next retry. */
export const LONGEST_RETRY_MS = backoffMs(Number.MAX_SAFE_INTEGER);

/** Runs `fn` on the live MerchantOrderRoom instance. Prefer the named seams below. */
export function inMerchantRoom<R>(
  merchantId: string,
  fn: (room: MerchantOrderRoom, state: DurableObjectState) => R | Promise<R>,
): Promise<R> {
  return runInDurableObject(merchantStub(merchantId), fn);
}

// ------------------------------------------------------------------ the clock

/**
 * Freezes the room's clock at `atMs` (deadlines, rate-limit windows, retry backoff and
 * housekeeping read it). Until the instance is evicted: a new instance runs on real time.
 * Freeze it ahead of real time: the room sets its alarm at room-clock times but its outbox
 * backstop at Date.now(), so a clock frozen in the past would keep re-running an alarm for a D1
 * batch that never comes due (the room's one-clock Schedule is to end that mix).
 */
export function setRoomClock(merchantId: string, atMs: number): Promise<void> {
  return inMerchantRoom(merchantId, (room) => {
    room.clock = () => atMs;
  });
}

/** Moves the room's clock `ms` forward from where it stands; a running clock keeps running. */
export function advanceRoomClock(merchantId: string, ms: number): Promise<void> {
  return inMerchantRoom(merchantId, (room) => {
    const before = room.clock;
    room.clock = () => before() + ms;
  });
}

/** Puts the room back on real time. */
export function resetRoomClock(merchantId: string): Promise<void> {
  return inMerchantRoom(merchantId, (room) => {
    room.clock = () => Date.now();
  });
}

/** What time the room thinks it is. */
export function roomNow(merchantId: string): Promise<number> {
  return inMerchantRoom(merchantId, (room) => room.clock());
}

/** How long the room lets changes of unwatched orders wait before relaying them (0: at once). */
export function setRelayQuietMs(merchantId: string, ms: number): Promise<void> {
  return inMerchantRoom(merchantId, (room) => {
    room.relayQuietMs = ms;
  });
}

// ------------------------------------------------------------------ receiver faults

export interface ReceiverFaults {
  /** How many more calls to each receiver fail. */
  orderRoom: number;
  projection: number;
  /** Fail after the receiver applied the relay (a lost acknowledgement) rather than before. */
  afterDelivery: boolean;
  /** Calls each receiver got since the faults were installed. */
  calls: { orderRoom: number; projection: number };
}

const FAULTS = Symbol("receiver faults");
type Faulty = MerchantOrderRoom & { [FAULTS]?: Faults };

/**
 * Makes the next calls to the room's receivers (order rooms, D1) fail, with the product's own
 * faultyTargets (on this instance: an eviction ends the outage). Called again, it sets the
 * counts anew; `{ orderRoom: 0, projection: 0 }` ends an outage and leaves the counters running.
 */
export function failReceivers(
  merchantId: string,
  faults: { orderRoom: number; projection: number; afterDelivery?: boolean },
): Promise<void> {
  return inMerchantRoom(merchantId, (instance) => {
    const room = instance as Faulty;
    const state = room[FAULTS] ?? noFaults();
    state.failNext = { orderRoom: faults.orderRoom, history: faults.projection };
    state.afterDelivery = faults.afterDelivery ?? false;
    if (!room[FAULTS]) {
      room[FAULTS] = state;
      room.deliveryTargets = faultyTargets(room.deliveryTargets, state, () => room.clock());
    }
  });
}

/** The faults still to come and the calls counted so far. */
export function receiverFaults(merchantId: string): Promise<ReceiverFaults> {
  return inMerchantRoom(merchantId, (room) => {
    const f = (room as Faulty)[FAULTS]!;
    return {
      orderRoom: f.failNext.orderRoom,
      projection: f.failNext.history,
      afterDelivery: f.afterDelivery,
      calls: { orderRoom: f.calls.orderRoom.length, projection: f.calls.history.length },
    };
  });
}

// ------------------------------------------------------------------ the instance

const MARK = Symbol("marked instance");

/** Marks the live instance, so a test can tell whether a later call met a new one. */
export function markInstance(merchantId: string): Promise<void> {
  return inMerchantRoom(merchantId, (room) => void Object.assign(room, { [MARK]: true }));
}

/** True if the live instance is the one markInstance marked. */
export function isMarkedInstance(merchantId: string): Promise<boolean> {
  return inMerchantRoom(merchantId, (room) => MARK in room);
}

/**
 * Makes `count` prep-time changes to one ACCEPTED order through the room's own operation (the one
 * the socket action calls), yielding every 100 as a busy room does between frames.
 */
export function updatePrepTimeMany(merchantId: string, orderId: string, count: number): Promise<void> {
  return inMerchantRoom(merchantId, async (room) => {
    const call = { principal: { role: "merchant" as const, id: "staff-1", merchantId }, via: "socket" as const };
    for (let i = 0; i < count; i++) {
      const r = room.perform(call, {
        action: "MERCHANT_UPDATE_PREP_TIME",
        payload: { orderId, prepMinutes: 1 + (i % 180) },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  });
}

/** Keys found on Object.prototype (or inherited by `{}` and `[]`) that the runtime does not put there. */
export function pollutedKeys(keys: string[]): string[] {
  return keys.filter(
    (k) => Object.hasOwn(Object.prototype, k) || k in {} || k in ([] as unknown as Record<string, unknown>),
  );
}

/** pollutedKeys as seen from inside the merchant room. */
export function pollutedKeysInRoom(merchantId: string, keys: string[]): Promise<string[]> {
  return inMerchantRoom(merchantId, () => pollutedKeys(keys));
}

// ------------------------------------------------------------------ storage

/** One event of a room's stream, read from its storage. */
export interface LoggedEvent {
  seq: number;
  orderId: string;
  version: number;
  via: string;
  event: string;
  requestId?: string;
  order: Order;
  actor: { role: string; id: string };
  /** The envelope as stored (and as sent). */
  envelope: string;
}

type StoredEnvelope = {
  event: string;
  seq: number;
  requestId?: string;
  payload: { order: Order; actor: { role: string; id: string } };
};

/** The merchant room's whole stream, oldest first, straight from its SQLite storage. */
export function merchantLog(merchantId: string): Promise<LoggedEvent[]> {
  return inMerchantRoom(merchantId, (_room, state) => {
    if (!hasTable(state, "events")) return [];
    return state.storage.sql
      .exec<{ seq: number; order_id: string; version: number; via: string; envelope: string }>(
        `SELECT seq, order_id, version, via, envelope FROM events ORDER BY seq`,
      )
      .toArray()
      .map((r) => {
        const env = JSON.parse(r.envelope) as StoredEnvelope;
        expect(env.seq).toBe(r.seq);
        return {
          seq: r.seq,
          orderId: r.order_id,
          version: r.version,
          via: r.via,
          event: env.event,
          ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
          order: env.payload.order,
          actor: env.payload.actor,
          envelope: r.envelope,
        };
      });
  });
}

/** An order room's stream as stored, oldest first. */
export function orderLog(
  orderId: string,
): Promise<{ seq: number; version: number; event: string; envelope: string }[]> {
  return runInDurableObject(orderStub(orderId), (_room, state) =>
    state.storage.sql
      .exec<{ seq: number; version: number; envelope: string }>(
        `SELECT seq, version, envelope FROM events ORDER BY seq`,
      )
      .toArray()
      .map((r) => ({ ...r, event: (JSON.parse(r.envelope) as { event: string }).event })),
  );
}

/** A stream as `seq → envelope text`. */
export function bySeq(log: { seq: number; envelope: string }[]): Map<number, string> {
  return new Map(log.map((e) => [e.seq, e.envelope]));
}

/** The lowest seq the merchant room still keeps. */
export function oldestKeptSeq(merchantId: string): Promise<number> {
  return inMerchantRoom(
    merchantId,
    (_room, state) => state.storage.sql.exec<{ seq: number }>(`SELECT MIN(seq) AS seq FROM events`).one().seq,
  );
}

/**
 * Runs `op` as staff and, in the same turn of the room, has every kitchen screen leave: the
 * change is committed but not yet delivered (its D1 projection still pending) when the room
 * reacts to the last screen going. Rejects if the room throws.
 */
export function lastScreensLeaveRightAfter(merchantId: string, op: Operation): Promise<void> {
  return inMerchantRoom(merchantId, async (room, state) => {
    const call = { principal: { role: "merchant" as const, id: "staff-1", merchantId }, via: "socket" as const };
    const result = room.perform(call, op);
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    for (const ws of state.getWebSockets("merchant")) {
      ws.close(1000, "bye");
      await room.webSocketClose(ws, 1000, "bye");
    }
  });
}

/**
 * When the merchant room's schedule will do `kind` for `id` (room clock), or null: e.g.
 * `("no-screen", "merchant")`, the auto-pause armed when the last kitchen screen left.
 */
export function scheduledAt(merchantId: string, kind: string, id: string): Promise<number | null> {
  return inMerchantRoom(merchantId, (_room, state) => {
    if (!hasTable(state, "schedule")) return null;
    const rows = state.storage.sql
      .exec<{ due_ms: number }>(`SELECT due_ms FROM schedule WHERE key = ?`, `${kind}:${id}`)
      .toArray();
    return rows[0]?.due_ms ?? null;
  });
}

/** What each receiver still has to deliver (changes, and an order room's backlogged orders). */
export async function pendingDeliveries(merchantId: string): Promise<Record<string, number>> {
  const { outbox } = await inMerchantRoom(merchantId, (room) => room.ops());
  return Object.fromEntries(Object.entries(outbox).map(([receiver, s]) => [receiver, s.pending]));
}

/** Rows holding idempotent results (the key's row and any further parts of a large one). */
export function storedResults(merchantId: string): Promise<number> {
  return inMerchantRoom(
    merchantId,
    (_room, state) =>
      state.storage.sql
        .exec<{ n: number }>(
          `SELECT (SELECT COUNT(*) FROM idempotency) + (SELECT COUNT(*) FROM idempotency_parts) AS n`,
        )
        .one().n,
  );
}

function hasTable(state: DurableObjectState, name: string): boolean {
  return tablesOf(state).includes(name);
}

function tablesOf(state: DurableObjectState): string[] {
  return state.storage.sql
    .exec<{ name: string }>(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'`,
    )
    .toArray()
    .map((r) => r.name);
}

/** The merchant room's own tables (none for a merchant that was never set up). */
export function roomTables(merchantId: string): Promise<string[]> {
  return inMerchantRoom(merchantId, (_room, state) => tablesOf(state));
}

/** The largest row the merchant room stores, in bytes of UTF-8, and its table. */
export function largestRow(merchantId: string): Promise<{ table: string; bytes: number }> {
  const encoder = new TextEncoder();
  return inMerchantRoom(merchantId, (_room, state) => {
    let largest = { table: "", bytes: 0 };
    for (const name of tablesOf(state)) {
      for (const row of state.storage.sql.exec(`SELECT * FROM "${name}"`)) {
        const bytes = Object.values(row).reduce<number>(
          (n, v) => n + (v === null ? 0 : encoder.encode(String(v)).byteLength),
          0,
        );
        if (bytes > largest.bytes) largest = { table: name, bytes };
      }
    }
    return largest;
  });
}

/**
 * What the CallerKeys object of one caller holds: whether it was ever created, and the keys it
 * has bound to a merchant. Read without creating it.
 */
export async function callerKeys(
  role: string,
  sub: string,
): Promise<{ created: boolean; keys: { key: string; merchantId: string }[] }> {
  const id = env.CALLER_KEYS.idFromName(`${role}:${sub}`);
  const created = (await listDurableObjectIds(env.CALLER_KEYS)).some((other) => other.equals(id));
  if (!created) return { created, keys: [] };
  const keys = await runInDurableObject(env.CALLER_KEYS.get(id), (_o, state) =>
    state.storage.sql
      .exec<{ key: string; merchant_id: string }>(`SELECT key, merchant_id FROM keys`)
      .toArray()
      .map((r) => ({ key: r.key, merchantId: r.merchant_id })),
  );
  return { created, keys };
}

// ------------------------------------------------------------------ the runtime's view of a room

/** When the object's one alarm is set for, or null. */
export function alarmOf(stub: DurableObjectStub): Promise<number | null> {
  return runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
}

/** How many sockets the merchant room's runtime still holds. */
export function socketCount(merchantId: string): Promise<number> {
  return inMerchantRoom(merchantId, (_room, state) => state.getWebSockets().length);
}

/** When the runtime last answered a `ping` on the order room's (one) socket by itself, or null. */
export function autoResponseAt(orderId: string): Promise<number | null> {
  return runInDurableObject(orderStub(orderId), (_room, state) => {
    const [ws] = state.getWebSockets();
    return ws ? (state.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null) : null;
  });
}
