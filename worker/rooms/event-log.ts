/**
 * A room's stream: events numbered 1, 2, 3, … without gaps, stored as the exact JSON sent to
 * sockets, so a replay is a concatenation of stored strings. The epoch names this numbering; it
 * is minted once, with the table, and changes only if the numbering ever restarts.
 *
 * In the merchant room the log is also the outbox: each receiver (order rooms, D1, webhooks)
 * keeps a cursor into it (see delivery/), so pruning keeps every event some receiver still needs.
 */
import type { StreamEnvelope, Via } from "../../schema/index.ts";
import { applyLayout, tableExists } from "./storage-schema.ts";

export const RETAIN_EVENTS = 10_000;
/**
 * Events are kept at least this long (and at least the last RETAIN_EVENTS): the contract asks 24 h
 * for replay; the log is also the audit trail (`GET /api/orders/:id/events`), which D1 no longer
 * duplicates, so it keeps 30 days (README "History and capacity").
 */
export const RETAIN_MS = 30 * 24 * 60 * 60 * 1000;

export interface StoredEvent {
  seq: number;
  /** Null for a merchant-level event (availability, sold-out items). */
  orderId: string | null;
  version: number | null;
  via: Via | "relay";
  atMs: number;
  envelope: string;
}

type EventRow = {
  seq: number;
  order_id: string | null;
  version: number | null;
  via: string;
  at_ms: number;
  envelope: string;
};

const COLUMNS = `seq, order_id, version, via, at_ms, envelope`;

/**
 * A stored envelope's event name, without parsing it: frames.ts writes `event` first, always
 * (`{"event":"NAME",…`). For hot paths that look at many events and need only that.
 */
export function eventNameOf(stored: string): string {
  return stored.slice(10, stored.indexOf('"', 10));
}

/** The one place a stored envelope is read back: the room wrote it with frames.ts. */
export function readEnvelope(stored: string): StreamEnvelope {
  return JSON.parse(stored) as StreamEnvelope;
}

function toStored(r: EventRow): StoredEvent {
  return {
    seq: r.seq,
    orderId: r.order_id,
    version: r.version,
    via: r.via as StoredEvent["via"],
    atMs: r.at_ms,
    envelope: r.envelope,
  };
}

const EVENTS_TABLE = `CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  order_id TEXT,
  version INTEGER,
  via TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  envelope TEXT NOT NULL
)`;

export class EventLog {
  private cachedSeq: number;
  readonly epoch: string;

  /**
   * `seqsOf`: where one order's events are (a JSON array of seqs; null: no such order). The merchant
   * room keeps them in the order's own row and reads an order's events for its audit trail and
   * for relays; an order room holds one order and never asks. Without it, forOrder scans the log.
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly seqsOf: ((orderId: string) => string | null) | null = null,
  ) {
    const sql = storage.sql;
    applyLayout(storage, {
      component: "event-log",
      exists: (s) => tableExists(s, "events"),
      create: (s) => {
        s.exec(EVENTS_TABLE);
        // WITHOUT ROWID: the epoch is one row written, not two (every order room makes one).
        s.exec(`CREATE TABLE stream_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
      },
      upgrades: [
        // v1 → v2: merchant-level events carry no order (order_id, version nullable).
        (s) => {
          s.exec(`ALTER TABLE events RENAME TO events_v1`);
          s.exec(`DROP INDEX IF EXISTS events_by_order`);
          s.exec(EVENTS_TABLE);
          s.exec(`INSERT INTO events (${COLUMNS}) SELECT ${COLUMNS} FROM events_v1`);
          s.exec(`DROP TABLE events_v1`);
        },
      ],
    });
    const epochRow = sql.exec<{ value: string }>(`SELECT value FROM stream_meta WHERE key = 'epoch'`).toArray()[0];
    if (epochRow) {
      this.epoch = epochRow.value;
    } else {
      this.epoch = crypto.randomUUID();
      sql.exec(`INSERT INTO stream_meta (key, value) VALUES ('epoch', ?)`, this.epoch);
    }
    this.cachedSeq = this.storedSeq();
  }

  /**
   * The newest seq in storage. Pruning always keeps the newest RETAIN_EVENTS events, so the
   * newest event is never pruned and numbering can never restart; rooms from before this kept
   * the seq in stream_meta too, which is read as a floor.
   */
  private storedSeq(): number {
    const sql = this.storage.sql;
    const newest = sql.exec<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM events`).one().seq ?? 0;
    const legacy = sql.exec<{ value: string }>(`SELECT value FROM stream_meta WHERE key = 'seq'`).toArray()[0];
    return Math.max(newest, legacy ? Number(legacy.value) : 0);
  }

  /** The seq of the newest event (0 before the first). */
  get seq(): number {
    return this.cachedSeq;
  }

  /**
   * Appends one event; `build(seq)` returns the envelope to store and send. Call inside the
   * room's transaction, so the event exists exactly when its change does.
   */
  append(
    orderId: string | null,
    version: number | null,
    via: StoredEvent["via"],
    atMs: number,
    build: (seq: number) => string,
  ): StoredEvent {
    const seq = this.cachedSeq + 1;
    const envelope = build(seq);
    this.storage.sql.exec(
      `INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
      seq,
      orderId,
      version,
      via,
      atMs,
      envelope,
    );
    this.cachedSeq = seq;
    return { seq, orderId, version, via, atMs, envelope };
  }

  /** Re-reads the seq after a transaction rolled back (the cache may be ahead of storage). */
  reload(): void {
    this.cachedSeq = this.storedSeq();
  }

  /** The oldest seq still stored, or null for an empty log. */
  oldest(): number | null {
    return this.storage.sql.exec<{ seq: number | null }>(`SELECT MIN(seq) AS seq FROM events`).one().seq;
  }

  /**
   * The newest seq committed before `atMs` (or the one just before the oldest kept, if none is):
   * where a receiver that came to be at `atMs` starts. Scans from the newest event back.
   */
  seqBefore(atMs: number): number {
    const row = this.storage.sql
      .exec<{ seq: number }>(`SELECT seq FROM events WHERE at_ms < ? ORDER BY seq DESC LIMIT 1`, atMs)
      .toArray()[0];
    if (row) return row.seq;
    const oldest = this.oldest();
    return oldest === null ? this.cachedSeq : oldest - 1;
  }

  /**
   * The stored envelopes after `since`, oldest first, or null when the room no longer has all
   * of them (pruned) or `since` is from a numbering this room never had.
   */
  after(since: number): string[] | null {
    if (!Number.isInteger(since) || since < 0 || since > this.cachedSeq) return null;
    if (since === this.cachedSeq) return [];
    const first = this.oldest();
    if (first === null || first > since + 1) return null;
    return this.storage.sql
      .exec<{ envelope: string }>(`SELECT envelope FROM events WHERE seq > ? ORDER BY seq`, since)
      .toArray()
      .map((r) => r.envelope);
  }

  /** At most `limit` events after `since`, oldest first: a receiver's next piece of the log. */
  range(since: number, limit: number): StoredEvent[] {
    return this.storage.sql
      .exec<EventRow>(`SELECT ${COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, since, limit)
      .toArray()
      .map(toStored);
  }

  /** Every stored event of one order (from `fromSeq` on), oldest first. */
  forOrder(orderId: string, fromSeq = 0): StoredEvent[] {
    if (!this.seqsOf) {
      return this.storage.sql
        .exec<EventRow>(`SELECT ${COLUMNS} FROM events WHERE order_id = ? AND seq >= ? ORDER BY seq`, orderId, fromSeq)
        .toArray()
        .map(toStored);
    }
    const seqs = this.seqsOf(orderId);
    if (seqs === null) return [];
    return this.storage.sql
      .exec<EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE seq IN (SELECT value FROM json_each(?)) AND seq >= ? ORDER BY seq`,
        seqs,
        fromSeq,
      )
      .toArray()
      .map(toStored);
  }

  /**
   * Drops events that are both beyond the last RETAIN_EVENTS and older than RETAIN_MS, never one
   * at or after `keepFrom` (the oldest event a receiver still has to deliver), so the log stays a
   * suffix.
   */
  prune(nowMs: number, keepFrom = Number.POSITIVE_INFINITY): number {
    const cutoffSeq = Math.min(this.cachedSeq - RETAIN_EVENTS, keepFrom - 1);
    if (cutoffSeq <= 0) return 0;
    const upTo = this.storage.sql
      .exec<{ seq: number | null }>(
        `SELECT MAX(seq) AS seq FROM events WHERE seq <= ? AND at_ms < ?`,
        cutoffSeq,
        nowMs - RETAIN_MS,
      )
      .one().seq;
    if (upTo === null) return 0;
    // Events are appended in time order, so everything up to the newest old-enough one is too.
    return this.storage.sql.exec(`DELETE FROM events WHERE seq <= ?`, upTo).rowsWritten;
  }
}
