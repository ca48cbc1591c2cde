/**
 * MerchantOrderRoom: one per merchant, the single writer of that merchant's orders.
 *
 * Every change — REST or socket, from the merchant, a customer, a driver, dispatch or the
 * acceptance deadline — is one call here. It is decided by the pure rules in domain/changes.ts,
 * then the new order row, its stream event (next seq), its outbox rows and its idempotency
 * record are committed in ONE SQLite transaction; only after the commit is it broadcast. So an
 * event exists exactly when its change does, across hibernation, eviction and restarts.
 */
import {
  isActiveStatus,
  MerchantActionSchema,
  type BulkItemResult,
  type DevFaultsBody,
  type ErrorBody,
  type Merchant,
  type Order,
  type PlaceOrderBody,
  type StreamEventName,
  type UpsertMerchantBody,
  type Via,
} from "../../schema/index.ts";
import { createOrder, decide, SYSTEM_DEADLINE, type Change, type Principal } from "../domain/changes.ts";
import { DEFAULT_REST_LIMIT, parseRateLimit, RateCounter } from "../rate-limit.ts";
import { IDENTITY_HEADER, LiveRoom, envelopeJson, requestIdOf, trySend, type SocketIdentity } from "./live-room.ts";
import { Outbox, type OutboxTargets } from "./outbox.ts";
import { IDEMPOTENCY_TTL_MS } from "../domain/idempotency.ts";
import { RETAIN_MS } from "./event-log.ts";
import { projectChanges } from "../db/projection.ts";
import { drizzle } from "drizzle-orm/d1";

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Who is calling and how: every mutating RPC takes one. */
export interface CallContext {
  principal: Principal;
  via: Via;
  /** The REST Idempotency-Key or the socket requestId: one namespace per caller. */
  key?: string;
}

/** An entry of the audit trail, as stored. */
export interface AuditRecord {
  event: StreamEventName;
  at: string;
  actor: { role: Principal["role"]; id: string };
  via: Via;
  requestId?: string;
  order: Order;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Characters per stored part of an idempotent result: at most 3 bytes each in UTF-8, so ≤ 768 KB. */
const RESULT_PART_CHARS = 256 * 1024;
/** The alarm that retries the outbox if the immediate delivery after a commit is lost. */
const OUTBOX_BACKSTOP_MS = 2_000;
/**
 * D1 gets at most one projection batch per window while changes keep coming; an isolated change
 * still goes at once. A D1 call has a fixed cost of ≈ 5 ms (local runtime) whether it carries one
 * change or a hundred, so in a rush this turns one call per order into one per window. History
 * in D1 lags the room by at most this much more; the live board and single orders are read from
 * the room, and `deliverPending()` projects at once.
 */
const PROJECTION_WINDOW_MS = 100;

const notFound = (what: string): Result<never> => ({
  ok: false,
  error: { code: "NOT_FOUND", message: `${what} not found` },
});

export class MerchantOrderRoom extends LiveRoom {
  private readonly sql: SqlStorage;
  /** Set once the room's tables exist (see createSchema); the outbox lives in them. */
  private schema: { outbox: Outbox } | null = null;
  private readonly restCalls: RateCounter<string>;
  private merchantCache: Merchant | null | undefined;
  private lastPruneMs = 0;

  /** The room's clock; tests move it to reach deadlines without sleeping. */
  clock: () => number = () => Date.now();

  /** Where the outbox delivers; tests wrap these to inject relay failures. */
  outboxTargets: OutboxTargets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // A room is asked about merchants that do not exist (any order id names one); it creates
    // its tables only for a merchant being set up, so a lookup leaves no storage behind.
    const configured =
      this.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).toArray().length > 0;
    if (configured) this.createSchema();
    this.restCalls = new RateCounter(parseRateLimit(env.REST_RATE_LIMIT, DEFAULT_REST_LIMIT));
    this.outboxTargets = {
      orderRoom: (orderId, relay) => env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId)).relay(relay),
      projection: (batch) => projectChanges(drizzle(env.DB), batch),
    };
  }

  private createSchema(): void {
    if (this.schema) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS orders (
      id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      version INTEGER NOT NULL,
      placed_at TEXT NOT NULL,
      active INTEGER NOT NULL,
      json TEXT NOT NULL
    )`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS orders_active ON orders (active, placed_at, id)`);
    // One alarm, many deadlines: every acceptance deadline is a row here.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS deadlines (order_id TEXT PRIMARY KEY, due_ms INTEGER NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS deadlines_due ON deadlines (due_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      result TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      PRIMARY KEY (scope, key)
    )`);
    // The rest of a stored result too big for one row (see storeResult).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS idempotency_parts (
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      part INTEGER NOT NULL,
      chunk TEXT NOT NULL,
      PRIMARY KEY (scope, key, part)
    )`);
    this.openLog();
    this.schema = { outbox: new Outbox(this.sql) };
  }

  private get outbox(): Outbox {
    if (!this.schema) throw new Error("the room of a merchant that does not exist has no outbox");
    return this.schema.outbox;
  }

  protected get roomName(): string {
    return `MerchantOrderRoom ${this.merchant()?.id ?? "(unconfigured)"}`;
  }

  // ---------------------------------------------------------------- merchant settings

  private merchant(): Merchant | null {
    if (!this.schema) return null;
    if (this.merchantCache === undefined) {
      const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'merchant'`).toArray()[0];
      this.merchantCache = row ? (JSON.parse(row.value) as Merchant) : null;
    }
    return this.merchantCache;
  }

  /**
   * Creates or updates the merchant's settings (no stream event: they are not order changes).
   * A mutating request like any other: rate limited, and idempotent under the caller's key.
   */
  upsertMerchant(
    call: CallContext,
    merchantId: string,
    body: UpsertMerchantBody,
  ): Result<{ created: boolean; merchant: Merchant }> {
    this.createSchema();
    const result = this.execute(call, "upsertMerchant", { merchantId, body }, (now) => {
      const before = this.merchant();
      if (before && before.id !== merchantId) throw new Error(`room of ${before.id} asked to be ${merchantId}`);
      const merchant: Merchant = {
        id: merchantId,
        name: body.name,
        acceptWindowSeconds: body.acceptWindowSeconds ?? before?.acceptWindowSeconds ?? 600,
        defaultPrepMinutes: body.defaultPrepMinutes ?? before?.defaultPrepMinutes ?? 15,
      };
      this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('merchant', ?)`, JSON.stringify(merchant));
      this.outbox.addMerchant(merchant, now.getTime());
      return { ok: true, value: { created: before === null, merchant } };
    });
    // Re-read from storage: the transaction may have written it (or, on a replay, not).
    this.merchantCache = undefined;
    this.ensureRetryAlarm();
    this.kickOutbox();
    return result;
  }

  getMerchant(): Merchant | null {
    return this.merchant();
  }

  // ---------------------------------------------------------------- reads

  getOrder(orderId: string): Order | null {
    if (!this.schema) return null;
    const row = this.sql.exec<{ json: string }>(`SELECT json FROM orders WHERE id = ?`, orderId).toArray()[0];
    return row ? (JSON.parse(row.json) as Order) : null;
  }

  /** The live board: active orders, oldest first, with the seq they are current at. */
  board(): { orders: Order[]; seq: number; epoch: string } | null {
    if (!this.merchant()) return null;
    const orders = this.sql
      .exec<{ json: string }>(`SELECT json FROM orders WHERE active = 1 ORDER BY placed_at, id`)
      .toArray()
      .map((r) => JSON.parse(r.json) as Order);
    return { orders, seq: this.log.seq, epoch: this.log.epoch };
  }

  /** The order's audit trail from the room's log, or null if the log no longer holds all of it. */
  auditTrail(orderId: string): AuditRecord[] | null {
    if (!this.schema) return null;
    const events = this.log.forOrder(orderId);
    if (events.length === 0 || events[0]!.version !== 1) return null;
    return events.map((e) => {
      const env = JSON.parse(e.envelope) as {
        event: StreamEventName;
        at: string;
        requestId?: string;
        payload: { order: Order; actor: AuditRecord["actor"] };
      };
      return {
        event: env.event,
        at: env.at,
        actor: env.payload.actor,
        via: e.via as Via,
        ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
        order: env.payload.order,
      };
    });
  }

  // ---------------------------------------------------------------- operations

  /** A customer places an order. */
  placeOrder(call: CallContext, body: PlaceOrderBody): Result<Order> {
    return this.execute(call, "placeOrder", body, (now) => {
      const merchant = this.merchant();
      if (!merchant) return notFound("merchant");
      if (call.principal.role !== "customer")
        return { ok: false, error: { code: "FORBIDDEN", message: "only customers place orders" } };
      const { order, event } = createOrder(body, call.principal.id, merchant, newOrderId(merchant.id, now), now);
      this.commit(null, order, event, call, now);
      return { ok: true, value: order };
    });
  }

  acceptOrder(call: CallContext, orderId: string, prepMinutes?: number): Result<Order> {
    return this.change(call, orderId, { kind: "ACCEPT", ...(prepMinutes !== undefined ? { prepMinutes } : {}) });
  }

  rejectOrder(call: CallContext, orderId: string, reason: string): Result<Order> {
    return this.change(call, orderId, { kind: "REJECT", reason });
  }

  markPreparing(call: CallContext, orderId: string): Result<Order> {
    return this.change(call, orderId, { kind: "MARK_PREPARING" });
  }

  markReady(call: CallContext, orderId: string): Result<Order> {
    return this.change(call, orderId, { kind: "MARK_READY" });
  }

  updatePrepTime(call: CallContext, orderId: string, prepMinutes: number): Result<Order> {
    return this.change(call, orderId, { kind: "UPDATE_PREP_TIME", prepMinutes });
  }

  cancelOrder(call: CallContext, orderId: string, reason: string): Result<Order> {
    return this.change(call, orderId, { kind: "CANCEL", reason });
  }

  assignDriver(
    call: CallContext,
    orderId: string,
    driver: { driverId: string; name: string; etaMinutes?: number },
  ): Result<Order> {
    return this.change(call, orderId, { kind: "ASSIGN_DRIVER", ...driver });
  }

  driverArrived(call: CallContext, orderId: string): Result<Order> {
    return this.change(call, orderId, { kind: "DRIVER_ARRIVED" });
  }

  pickUpOrder(call: CallContext, orderId: string): Result<Order> {
    return this.change(call, orderId, { kind: "PICK_UP" });
  }

  deliverOrder(call: CallContext, orderId: string): Result<Order> {
    return this.change(call, orderId, { kind: "DELIVER" });
  }

  /** The acceptance deadline: PLACED → EXPIRED once `acceptBy` has passed. */
  expireOrder(orderId: string): Result<Order> {
    return this.change({ principal: SYSTEM_DEADLINE, via: "system" }, orderId, { kind: "EXPIRE" });
  }

  /** Accepts many orders in one transaction; each that can move, moves. */
  bulkAccept(call: CallContext, orderIds: string[], prepMinutes?: number): Result<{ results: BulkItemResult[] }> {
    return this.bulk(call, "bulkAccept", orderIds, {
      kind: "ACCEPT",
      ...(prepMinutes !== undefined ? { prepMinutes } : {}),
    });
  }

  /** Marks many orders ready in one transaction; each that can move, moves. */
  bulkMarkReady(call: CallContext, orderIds: string[]): Result<{ results: BulkItemResult[] }> {
    return this.bulk(call, "bulkMarkReady", orderIds, { kind: "MARK_READY" });
  }

  /** Delivers the outbox now (used before reading projections, and by an order room that is behind). */
  async deliverPending(): Promise<{ pending: number }> {
    if (!this.schema) return { pending: 0 };
    this.projectNow = true;
    await this.flush();
    return { pending: this.outbox.size() };
  }

  // ---------------------------------------------------------------- dev-only fault injection

  private devFaults: { orderRoomUntil: number; projectionUntil: number; afterDelivery: boolean } | null = null;

  /**
   * Dev mode only (`POST /api/dev/faults`, driven by `npm run chaos`): until the given times,
   * relays to order rooms and/or to the D1 projection fail as if the receiver were down - or, with
   * `afterDelivery`, they arrive but the acknowledgement is lost. The outbox's own retries must do
   * all the recovering. In memory on purpose: an eviction or restart ends the outage, as a real
   * one would end; without DEV_MODE it refuses, whoever calls.
   */
  injectRelayFaults(spec: DevFaultsBody): Result<{ orderRoomUntil: string | null; projectionUntil: string | null }> {
    if (this.env.DEV_MODE !== "true") return notFound("fault injection");
    if (!this.merchant()) return notFound("merchant");
    if (!this.devFaults) {
      const state = { orderRoomUntil: 0, projectionUntil: 0, afterDelivery: false };
      this.devFaults = state;
      const real = this.outboxTargets;
      const down = (until: number) => this.clock() < until;
      this.outboxTargets = {
        orderRoom: async (orderId, relay) => {
          if (down(state.orderRoomUntil) && !state.afterDelivery) throw new Error("dev fault: order room unreachable");
          const ack = await real.orderRoom(orderId, relay);
          if (down(state.orderRoomUntil)) throw new Error("dev fault: order room acknowledgement lost");
          return ack;
        },
        projection: async (batch) => {
          if (down(state.projectionUntil) && !state.afterDelivery) throw new Error("dev fault: D1 unreachable");
          await real.projection(batch);
          if (down(state.projectionUntil)) throw new Error("dev fault: D1 acknowledgement lost");
        },
      };
    }
    const now = this.clock();
    const faults = this.devFaults;
    if (spec.failOrderRoomRelaysForMs)
      faults.orderRoomUntil = Math.max(faults.orderRoomUntil, now + spec.failOrderRoomRelaysForMs);
    if (spec.failProjectionForMs)
      faults.projectionUntil = Math.max(faults.projectionUntil, now + spec.failProjectionForMs);
    faults.afterDelivery = spec.afterDelivery ?? false;
    const iso = (t: number) => (t > now ? new Date(t).toISOString() : null);
    return {
      ok: true,
      value: { orderRoomUntil: iso(faults.orderRoomUntil), projectionUntil: iso(faults.projectionUntil) },
    };
  }

  // ---------------------------------------------------------------- sockets

  override async fetch(request: Request): Promise<Response> {
    const raw = request.headers.get(IDENTITY_HEADER);
    if (!raw || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected an authorised WebSocket upgrade", { status: 400 });
    }
    if (!this.merchant())
      return Response.json({ error: { code: "NOT_FOUND", message: "merchant not found" } }, { status: 404 });
    return this.openStream(request, JSON.parse(raw) as SocketIdentity);
  }

  protected snapshotPayload(): Record<string, unknown> {
    const merchant = this.merchant();
    return { orders: this.board()?.orders ?? [], ...(merchant ? { merchant } : {}) };
  }

  protected async onFrame(ws: WebSocket, who: SocketIdentity, frame: unknown): Promise<void> {
    const parsed = MerchantActionSchema.safeParse(frame);
    if (!parsed.success) {
      this.sendError(
        ws,
        { code: "BAD_REQUEST", message: "invalid action frame", details: parsed.error.issues },
        requestIdOf(frame),
      );
      return;
    }
    const { action, requestId, payload } = parsed.data;
    if (who.role !== "merchant" || who.merchantId !== this.merchant()?.id) {
      this.sendError(ws, { code: "FORBIDDEN", message: "only this merchant's staff may act on its orders" }, requestId);
      return;
    }
    const call: CallContext = {
      principal: { role: who.role, id: who.sub, merchantId: who.merchantId },
      via: "socket",
      key: requestId,
    };
    let result: Result<Order> | Result<{ results: BulkItemResult[] }>;
    switch (action) {
      case "MERCHANT_ACCEPT":
        result = this.acceptOrder(call, payload.orderId, payload.prepMinutes);
        break;
      case "MERCHANT_REJECT":
        result = this.rejectOrder(call, payload.orderId, payload.reason);
        break;
      case "MERCHANT_MARK_PREPARING":
        result = this.markPreparing(call, payload.orderId);
        break;
      case "MERCHANT_MARK_READY":
        result = this.markReady(call, payload.orderId);
        break;
      case "MERCHANT_UPDATE_PREP_TIME":
        result = this.updatePrepTime(call, payload.orderId, payload.prepMinutes);
        break;
      case "BULK_ACCEPT":
        result = this.bulkAccept(call, payload.orderIds, payload.prepMinutes);
        break;
      case "BULK_MARK_READY":
        result = this.bulkMarkReady(call, payload.orderIds);
        break;
    }
    if (!result.ok) {
      this.sendError(ws, result.error, requestId);
    } else if ("results" in result.value) {
      trySend(ws, envelopeJson("BULK_RESULT", undefined, result.value, requestId));
    } else {
      trySend(ws, envelopeJson("ACK", undefined, { order: result.value }, requestId));
    }
  }

  // ---------------------------------------------------------------- alarm

  /** Fires at the earliest of: an acceptance deadline, an outbox retry, housekeeping. */
  override async alarm(): Promise<void> {
    if (!this.schema) return; // only a configured room ever sets one
    this.alarmAt = null; // this alarm is spent; armAlarm sets the next one
    const now = this.clock();
    const due = this.sql
      .exec<{ order_id: string }>(`SELECT order_id FROM deadlines WHERE due_ms <= ? ORDER BY due_ms`, now)
      .toArray();
    for (const { order_id } of due) {
      const result = this.expireOrder(order_id);
      // An order that already left PLACED (or vanished) has no deadline left to keep.
      if (!result.ok) this.sql.exec(`DELETE FROM deadlines WHERE order_id = ?`, order_id);
    }
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) {
      this.lastPruneMs = now;
      this.log.prune(now, (seq) => this.outbox.holds(seq));
      this.sql.exec(`DELETE FROM idempotency WHERE created_ms < ?`, now - IDEMPOTENCY_TTL_MS);
      this.sql.exec(
        `DELETE FROM idempotency_parts WHERE NOT EXISTS
           (SELECT 1 FROM idempotency i WHERE i.scope = idempotency_parts.scope AND i.key = idempotency_parts.key)`,
      );
    }
    await this.flush();
  }

  // ---------------------------------------------------------------- the write path

  private change(call: CallContext, orderId: string, change: Change): Result<Order> {
    return this.execute(call, change.kind, { orderId, change }, (now) => this.applyChange(call, orderId, change, now));
  }

  private bulk(
    call: CallContext,
    op: string,
    orderIds: string[],
    change: Change,
  ): Result<{ results: BulkItemResult[] }> {
    return this.execute(call, op, { orderIds, change }, (now) => {
      const results = orderIds.map((orderId): BulkItemResult => {
        const r = this.applyChange(call, orderId, change, now);
        return r.ok ? { orderId, ok: true, order: r.value } : { orderId, ok: false, error: r.error };
      });
      return { ok: true, value: { results } };
    });
  }

  /** Decides one change of one order and commits it; runs inside execute's transaction. */
  private applyChange(call: CallContext, orderId: string, change: Change, now: Date): Result<Order> {
    let before = this.getOrder(orderId);
    if (!before) return notFound("order");
    if (change.kind !== "EXPIRE") before = this.expireIfDue(before, now);
    const merchant = this.merchant();
    const decision = decide(before, change, call.principal, now, merchant?.defaultPrepMinutes ?? 15);
    if (!decision.ok) return decision;
    this.commit(before, decision.order, decision.event, call, now);
    return { ok: true, value: decision.order };
  }

  /**
   * An order still PLACED at acceptBy is EXPIRED (contract), whether or not the alarm has run:
   * alarms can be late or retried, and a change must never slip in between the deadline and the
   * alarm (an accept a minute after acceptBy). The expiry is committed as the system's own change,
   * before the requested one is decided against it.
   */
  private expireIfDue(order: Order, now: Date): Order {
    if (order.status !== "PLACED" || now.getTime() < Date.parse(order.acceptBy)) return order;
    const expiry = decide(order, { kind: "EXPIRE" }, SYSTEM_DEADLINE, now, this.merchant()?.defaultPrepMinutes ?? 15);
    if (!expiry.ok) return order;
    this.commit(order, expiry.order, expiry.event, { principal: SYSTEM_DEADLINE, via: "system" }, now);
    return expiry.order;
  }

  /** Envelopes committed by the running execute(), broadcast once it commits. */
  private committed: string[] = [];

  /** Writes one change: order row, stream event, outbox rows, deadline. Inside a transaction. */
  private commit(before: Order | null, order: Order, event: StreamEventName, call: CallContext, now: Date): void {
    const nowMs = now.getTime();
    this.sql.exec(
      `INSERT OR REPLACE INTO orders (id, status, version, placed_at, active, json) VALUES (?, ?, ?, ?, ?, ?)`,
      order.id,
      order.status,
      order.version,
      order.placedAt,
      isActiveStatus(order.status) ? 1 : 0,
      JSON.stringify(order),
    );
    const actor = { role: call.principal.role, id: call.principal.id };
    const stored = this.log.append(order.id, order.version, call.via, nowMs, (seq) =>
      envelopeJson(event, seq, { order, actor }, call.key, now.toISOString()),
    );
    this.outbox.addChange(stored.seq, order.id, nowMs);
    if (!before && order.status === "PLACED") {
      this.sql.exec(
        `INSERT OR REPLACE INTO deadlines (order_id, due_ms) VALUES (?, ?)`,
        order.id,
        Date.parse(order.acceptBy),
      );
    } else if (before?.status === "PLACED" && order.status !== "PLACED") {
      this.sql.exec(`DELETE FROM deadlines WHERE order_id = ?`, order.id);
    }
    this.committed.push(stored.envelope);
  }

  /**
   * Runs one operation: rate limit, idempotency, then `work` and its commits in one
   * transaction, then broadcast. A repeat of an idempotency key returns the stored result.
   */
  private execute<T>(call: CallContext, op: string, args: unknown, work: (now: Date) => Result<T>): Result<T> {
    if (!this.schema) return notFound("merchant"); // nothing stored, not even the key: there is no room
    const nowMs = this.clock();
    const scope = `${call.principal.role}:${call.principal.id}`;
    if (call.via === "rest" && this.restCalls.hit(scope, nowMs) > this.restCalls.limit) {
      return { ok: false, error: { code: "RATE_LIMITED", message: "too many requests; slow down" } };
    }
    const fingerprint = JSON.stringify([op, args]);
    if (call.key !== undefined) {
      const prior = this.sql
        .exec<{ fingerprint: string; result: string }>(
          `SELECT fingerprint, result FROM idempotency WHERE scope = ? AND key = ?`,
          scope,
          call.key,
        )
        .toArray()[0];
      if (prior) {
        return prior.fingerprint === fingerprint
          ? (JSON.parse(this.storedResult(scope, call.key, prior.result)) as Result<T>)
          : {
              ok: false,
              error: { code: "IDEMPOTENCY_MISMATCH", message: "this key was used for a different request" },
            };
      }
    }
    this.committed = [];
    let result: Result<T>;
    try {
      result = this.ctx.storage.transactionSync(() => {
        const r = work(new Date(nowMs));
        if (call.key !== undefined) this.storeResult(scope, call.key, fingerprint, JSON.stringify(r), nowMs);
        return r;
      });
    } catch (err) {
      // Nothing was committed: forget what the failed attempt buffered.
      this.committed = [];
      this.log.reload();
      throw err;
    }
    const envelopes = this.committed;
    this.committed = [];
    if (envelopes.length > 0) {
      this.broadcastEnvelopes(envelopes);
      this.ensureRetryAlarm();
      this.kickOutbox();
    }
    return result;
  }

  /**
   * Stores an operation's result under its idempotency key. SQLite-backed Durable Objects cap a
   * row at 2 MB (the local runtime allows more), and a bulk of 100 large orders answers several
   * MB: the first part goes in the key's row, the rest in idempotency_parts, each part at most
   * RESULT_PART_CHARS (≤ 768 KB of UTF-8), never splitting a surrogate pair.
   */
  private storeResult(scope: string, key: string, fingerprint: string, json: string, nowMs: number): void {
    const parts: string[] = [];
    for (let start = 0; start < json.length; ) {
      let end = Math.min(json.length, start + RESULT_PART_CHARS);
      const last = json.charCodeAt(end - 1);
      if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--;
      parts.push(json.slice(start, end));
      start = end;
    }
    this.sql.exec(
      `INSERT INTO idempotency (scope, key, fingerprint, result, created_ms) VALUES (?, ?, ?, ?, ?)`,
      scope,
      key,
      fingerprint,
      parts[0] ?? "",
      nowMs,
    );
    // Leftovers of an expired use of the same key must not be read as part of this result.
    this.sql.exec(`DELETE FROM idempotency_parts WHERE scope = ? AND key = ?`, scope, key);
    for (let i = 1; i < parts.length; i++) {
      this.sql.exec(
        `INSERT INTO idempotency_parts (scope, key, part, chunk) VALUES (?, ?, ?, ?)`,
        scope,
        key,
        i,
        parts[i]!,
      );
    }
  }

  /** A stored result, reassembled from its row and any further parts. */
  private storedResult(scope: string, key: string, first: string): string {
    const rest = this.sql
      .exec<{ chunk: string }>(
        `SELECT chunk FROM idempotency_parts WHERE scope = ? AND key = ? ORDER BY part`,
        scope,
        key,
      )
      .toArray();
    return rest.length === 0 ? first : first + rest.map((r) => r.chunk).join("");
  }

  // ---------------------------------------------------------------- outbox delivery

  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** When the last D1 batch went (room clock), and whether a reader asked for one now. */
  private lastProjectionMs = 0;
  private projectNow = false;

  /**
   * Starts delivering the outbox in the background (the alarm is the backstop) once the commit
   * is durable. Started inside the committing task, the flush's relay and D1 work ran before the
   * commit's broadcast left: measured on the single-threaded local runtime, the kitchen screens
   * got ORDER_CREATED after ~13 ms of the room's CPU instead of ~6 (bench/README.md, "Where the
   * time goes"). Commits that land meanwhile share the one flush.
   */
  private kickOutbox(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    void this.ctx.storage
      .sync()
      .then(() => {
        this.kickScheduled = false;
        return this.flush();
      })
      .catch((err) => {
        this.kickScheduled = false;
        console.error(`[${this.roomName}] outbox flush failed`, err);
      });
  }

  private kickScheduled = false;

  /** Delivers everything due; concurrent callers share one run. */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          const now = this.clock();
          const project = this.projectNow || now >= this.lastProjectionMs + PROJECTION_WINDOW_MS;
          if (project) this.projectNow = false;
          const { more, projected } = await this.outbox.deliver(this.outboxTargets, now, project);
          if (projected) this.lastProjectionMs = now;
          if (more) this.flushAgain = true;
        } while (this.flushAgain);
      } finally {
        this.flushing = null;
        await this.armAlarm();
      }
    })();
    return this.flushing;
  }

  private alarmAt: number | null = null;

  /**
   * Guarantees an alarm soon after a commit that queued outbox rows, even if this instance is
   * evicted before its background flush finishes. Not awaited: the output gate holds the reply
   * until the alarm is durable, and the commit path stays synchronous.
   */
  private ensureRetryAlarm(): void {
    const at = Date.now() + OUTBOX_BACKSTOP_MS;
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /** Points the one alarm at the earliest thing due. */
  private async armAlarm(): Promise<void> {
    const nextDeadline = this.sql.exec<{ due: number | null }>(`SELECT MIN(due_ms) AS due FROM deadlines`).one().due;
    const nextRetry = this.outbox.nextAttemptMs(this.lastProjectionMs + PROJECTION_WINDOW_MS);
    const candidates = [nextDeadline, nextRetry].filter((t): t is number => t !== null);
    if (this.log.seq > 0) candidates.push(this.lastPruneMs + PRUNE_EVERY_MS);
    const next = candidates.length ? Math.min(...candidates) : null;
    if (next === this.alarmAt) return;
    // An earlier alarm still ahead stays: it fires, finds little to do, and points the alarm at
    // what is next. Moving it later after every flush cost a second alarm write per change in a
    // rush (the next commit's backstop moved it back each time).
    if (this.alarmAt !== null && this.alarmAt > Date.now() && (next === null || this.alarmAt < next)) return;
    this.alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `<merchantId>.<time><random>`: routable to its room, roughly time-ordered, unguessable enough. */
function newOrderId(merchantId: string, now: Date): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  let suffix = "";
  for (const b of random) suffix += ID_ALPHABET[b % 36];
  return `${merchantId}.${now.getTime().toString(36)}${suffix}`;
}

export { RETAIN_MS };
