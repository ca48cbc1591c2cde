/**
 * Relays each committed change of an order to that order's OrderRoom. One call carries every
 * pending version of an order (coalesced), orders go in parallel, and an order whose room fails
 * waits in a backlog of its own — from the first version it is missing — while the cursor moves
 * on for every other order. So one unreachable order room never holds up another, and an order
 * room never sees version n+1 before n (it refuses a gap; the backlog resends from the log).
 *
 * An order room nobody watches is not woken for every change (issue 15). A change is relayed at
 * once if its order is watched (a socket has connected to its room: the room asks to be
 * watched), if it ends the order (a final status), or once it is `quietMs` old (or nearly: the
 * changes near the oldest's time go with it); until then the cursor waits at it, and whatever
 * piles up for an order goes in one call. A relay that is due
 * behind one that is not (a watched order's change) goes at once, with every version of that
 * order the cursor has not passed. Nothing is lost or skipped: the order room's log is still
 * every version, in order, gap-free; it is only filled later.
 */
import type { StreamEnvelope } from "../../../schema/index.ts";
import { merchantActionOf } from "../../domain/changes.ts";
import { logger } from "../../log.ts";
import { type EventLog, eventNameOf, readEnvelope, type StoredEvent } from "../event-log.ts";
import type { RelayEnvelope } from "../order-room.ts";
import {
  backoffMs,
  type Delivered,
  type DeliveryTargets,
  errorMessage,
  type Receiver,
  type SideWork,
} from "./receiver.ts";

/** The events that leave an order in a final status: relayed at once, watched or not. */
const ENDS_ORDER = new Set<string>(["ORDER_DELIVERED", "MERCHANT_REJECTED", "ORDER_CANCELLED", "ORDER_EXPIRED"]);

/** Order rooms called at once. */
const PARALLEL = 32;
/** Backlogged orders retried per flush. */
const BACKLOG_PER_FLUSH = 64;

export function relayOf(stored: StoredEvent): RelayEnvelope {
  const env = readEnvelope(stored.envelope) as Extract<StreamEnvelope, { payload: { order: unknown } }>;
  const merchantAction = merchantActionOf(env.event);
  return {
    event: env.event,
    at: env.at,
    order: env.payload.order,
    ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
    ...(merchantAction ? { merchantAction } : {}),
  };
}

type BacklogRow = { order_id: string; from_seq: number; attempts: number; next_ms: number };

export class OrderRoomReceiver implements Receiver {
  readonly name = "order-rooms";
  readonly batch = 500;
  readonly minIntervalMs = 0;
  readonly maxCallsPerFlush = 500;
  readonly parksPoison = false;
  readonly side: SideWork;
  /** Orders in the backlog (mirrors the table; it is small). */
  private readonly backlogged: Set<string>;

  /** Orders a socket is watching (mirrors the `watched_orders` table). */
  private readonly watched: Set<string>;
  /** The version each order's room was sent ahead of the cursor (in memory: a loss only resends). */
  private readonly sentAhead = new Map<string, number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly log: EventLog,
    private readonly targets: () => DeliveryTargets,
    private readonly say: ReturnType<typeof logger> = logger(() => ({})),
    /** How long a change of an unwatched order may wait for company (0: relay at once). */
    private readonly quietMs: () => number = () => 0,
  ) {
    this.watched = new Set(
      sql
        .exec<{ order_id: string }>(`SELECT order_id FROM watched_orders`)
        .toArray()
        .map((r) => r.order_id),
    );
    this.backlogged = new Set(
      sql
        .exec<{ order_id: string }>(`SELECT order_id FROM relay_backlog`)
        .toArray()
        .map((r) => r.order_id),
    );
    this.side = {
      pending: () => this.backlogged.size,
      dueMs: () =>
        this.backlogged.size
          ? this.sql.exec<{ t: number }>(`SELECT MIN(next_ms) AS t FROM relay_backlog`).one().t
          : null,
      run: (now, force) => this.retryBacklog(now, force),
      oldestSeq: () =>
        this.backlogged.size
          ? this.sql.exec<{ s: number }>(`SELECT MIN(from_seq) AS s FROM relay_backlog`).one().s
          : null,
      status: (now) => {
        if (!this.backlogged.size) return null;
        const row = this.sql
          .exec<{ since_ms: number; last_error: string | null }>(
            `SELECT since_ms, last_error FROM relay_backlog ORDER BY since_ms LIMIT 1`,
          )
          .one();
        return { oldestAgeMs: now - row.since_ms, ...(row.last_error ? { lastError: row.last_error } : {}) };
      },
    };
  }

  /** A socket connected to the order's room: its changes go at once from now until it ends. */
  watch(orderId: string): void {
    if (this.watched.has(orderId)) return;
    this.watched.add(orderId);
    this.sql.exec(`INSERT OR IGNORE INTO watched_orders (order_id) VALUES (?)`, orderId);
  }

  /**
   * A change of an unwatched order may go up to a quarter of the quiet time early: when the alarm
   * comes for the oldest waiting change, those whose time is near go with it. Otherwise a burst of
   * changes a few ms apart became due one by one, an alarm each (issue 15: ~90 alarm runs and
   * writes for 20 orders' lives, 30 s after the burst).
   */
  private due(e: StoredEvent, nowMs: number, force: boolean): boolean {
    const quiet = this.quietMs();
    return (
      force ||
      e.orderId === null ||
      this.watched.has(e.orderId) ||
      e.atMs + quiet - quiet / 4 <= nowMs ||
      ENDS_ORDER.has(eventNameOf(e.envelope))
    );
  }

  anyDue(events: StoredEvent[], nowMs: number): boolean {
    return events.some((e) => this.due(e, nowMs, false));
  }

  async deliver(events: StoredEvent[], nowMs: number, force: boolean): Promise<Delivered> {
    let waitAt = events.findIndex((e) => !this.due(e, nowMs, force));
    if (waitAt === -1) waitAt = events.length;
    const groups = new Map<string, StoredEvent[]>();
    const add = (e: StoredEvent) => {
      const version = this.sentAhead.get(e.orderId!);
      if (version !== undefined && e.version! <= version) return; // went ahead of the cursor already
      groups.set(e.orderId!, [...(groups.get(e.orderId!) ?? []), e]);
    };
    for (const e of events.slice(0, waitAt)) {
      if (e.orderId !== null && !this.backlogged.has(e.orderId)) add(e); // the backlog resends its own
    }
    // Due behind the wait: those orders' every version the cursor has not passed, at once.
    const ahead = new Set<string>();
    for (const e of events.slice(waitAt)) {
      if (e.orderId !== null && !this.backlogged.has(e.orderId) && this.due(e, nowMs, force)) ahead.add(e.orderId);
    }
    for (const e of events.slice(waitAt)) if (e.orderId !== null && ahead.has(e.orderId)) add(e);
    await this.relayAll(groups, nowMs, ahead);
    if (waitAt === events.length) return { calls: groups.size };
    const waiting = events[waitAt]!;
    return {
      calls: groups.size,
      through: waitAt > 0 ? events[waitAt - 1]!.seq : waiting.seq - 1,
      againAtMs: waiting.atMs + this.quietMs(),
    };
  }

  private async relayAll(groups: Map<string, StoredEvent[]>, nowMs: number, ahead: Set<string>): Promise<void> {
    const failed: string[] = [];
    let lastError = "";
    await this.inParallel([...groups], async ([orderId, list]) => {
      try {
        await this.relay(orderId, list);
        const last = list[list.length - 1]!;
        if (ahead.has(orderId)) this.sentAhead.set(orderId, last.version!);
        else if (this.sentAhead.get(orderId) === last.version) this.sentAhead.delete(orderId);
        if (ENDS_ORDER.has(eventNameOf(last.envelope))) this.ended(orderId);
      } catch (err) {
        failed.push(orderId);
        lastError = errorMessage(err);
        this.sql.exec(
          `INSERT OR REPLACE INTO relay_backlog (order_id, from_seq, attempts, next_ms, since_ms, last_error) VALUES (?, ?, 1, ?, ?, ?)`,
          orderId,
          list[0]!.seq,
          nowMs + backoffMs(1),
          nowMs,
          errorMessage(err),
        );
        this.backlogged.add(orderId);
      }
    });
    if (failed.length > 0) this.reportFailures("relay failed", failed, lastError);
  }

  /** The order reached a final status: nothing more to watch. */
  private ended(orderId: string): void {
    if (!this.watched.delete(orderId)) return;
    this.sql.exec(`DELETE FROM watched_orders WHERE order_id = ?`, orderId);
  }

  /** One log line per failed pass, not per order: an outage of thousands stays readable. */
  private reportFailures(msg: string, orders: string[], error: string): void {
    this.say("warn", msg, { receiver: this.name, orders: orders.length, order: orders[0], error });
  }

  /** Sends `events` of one order; if its room is missing an earlier version, resends from there. */
  private async relay(orderId: string, events: StoredEvent[]): Promise<void> {
    const last = events[events.length - 1]!.version!;
    const ack = await this.targets().orderRoom(orderId, events.map(relayOf));
    if (ack.version >= last) return;
    const missing = this.log.forOrder(orderId).filter((e) => e.version! > ack.version);
    if (missing[0]?.version !== ack.version + 1) throw new Error(`order room is at version ${ack.version}`);
    const again = await this.targets().orderRoom(orderId, missing.map(relayOf));
    if (again.version < last) throw new Error(`order room is at version ${again.version}`);
  }

  private async retryBacklog(nowMs: number, force: boolean): Promise<number> {
    if (!this.backlogged.size) return 0;
    const due = this.sql
      .exec<BacklogRow>(
        `SELECT order_id, from_seq, attempts, next_ms FROM relay_backlog WHERE next_ms <= ? ORDER BY next_ms LIMIT ?`,
        force ? Number.MAX_SAFE_INTEGER : nowMs,
        BACKLOG_PER_FLUSH,
      )
      .toArray();
    const failed: string[] = [];
    let lastError = "";
    await this.inParallel(due, async (row) => {
      try {
        await this.relay(row.order_id, this.log.forOrder(row.order_id, row.from_seq));
        this.sql.exec(`DELETE FROM relay_backlog WHERE order_id = ?`, row.order_id);
        this.backlogged.delete(row.order_id);
      } catch (err) {
        failed.push(row.order_id);
        lastError = errorMessage(err);
        this.sql.exec(
          `UPDATE relay_backlog SET attempts = ?, next_ms = ?, last_error = ? WHERE order_id = ?`,
          row.attempts + 1,
          nowMs + backoffMs(row.attempts + 1),
          errorMessage(err),
          row.order_id,
        );
      }
    });
    if (failed.length > 0) this.reportFailures("relay retry failed", failed, lastError);
    return due.length;
  }

  private async inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  }
}
