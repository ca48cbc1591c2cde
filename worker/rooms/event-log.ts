/**
 * A room's stream: events numbered 1, 2, 3, … without gaps, stored as the exact JSON sent to
 * sockets, so a replay is a concatenation of stored strings. The epoch names this numbering; it
 * is minted once, with the table, and changes only if the numbering ever restarts.
 */
export const RETAIN_EVENTS = 10_000;
export const RETAIN_MS = 24 * 60 * 60 * 1000;

export interface StoredEvent {
  seq: number;
  orderId: string;
  version: number;
  via: string;
  atMs: number;
  envelope: string;
}

export class EventLog {
  private cachedSeq: number;
  readonly epoch: string;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      via TEXT NOT NULL,
      at_ms INTEGER NOT NULL,
      envelope TEXT NOT NULL
    )`);
    sql.exec(`CREATE INDEX IF NOT EXISTS events_by_order ON events (order_id, seq)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS stream_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const epochRow = sql.exec<{ value: string }>(`SELECT value FROM stream_meta WHERE key = 'epoch'`).toArray()[0];
    if (epochRow) {
      this.epoch = epochRow.value;
    } else {
      this.epoch = crypto.randomUUID();
      sql.exec(`INSERT INTO stream_meta (key, value) VALUES ('epoch', ?)`, this.epoch);
      sql.exec(`INSERT INTO stream_meta (key, value) VALUES ('seq', '0')`);
    }
    // The last seq is kept apart from the events so pruning can never make numbering restart.
    this.cachedSeq = Number(sql.exec<{ value: string }>(`SELECT value FROM stream_meta WHERE key = 'seq'`).one().value);
  }

  /** The seq of the newest event (0 before the first). */
  get seq(): number {
    return this.cachedSeq;
  }

  /**
   * Appends one event; `build(seq)` returns the envelope to store and send. Call inside the
   * room's transaction, so the event exists exactly when its change does.
   */
  append(orderId: string, version: number, via: string, atMs: number, build: (seq: number) => string): StoredEvent {
    const seq = this.cachedSeq + 1;
    const envelope = build(seq);
    this.sql.exec(
      `INSERT INTO events (seq, order_id, version, via, at_ms, envelope) VALUES (?, ?, ?, ?, ?, ?)`,
      seq,
      orderId,
      version,
      via,
      atMs,
      envelope,
    );
    this.sql.exec(`UPDATE stream_meta SET value = ? WHERE key = 'seq'`, String(seq));
    this.cachedSeq = seq;
    return { seq, orderId, version, via, atMs, envelope };
  }

  /** Re-reads the seq after a transaction rolled back (the cache may be ahead of storage). */
  reload(): void {
    this.cachedSeq = Number(
      this.sql.exec<{ value: string }>(`SELECT value FROM stream_meta WHERE key = 'seq'`).one().value,
    );
  }

  /**
   * The stored envelopes after `since`, oldest first, or null when the room no longer has all
   * of them (pruned) or `since` is from a numbering this room never had.
   */
  after(since: number): string[] | null {
    if (!Number.isInteger(since) || since < 0 || since > this.cachedSeq) return null;
    if (since === this.cachedSeq) return [];
    const first = this.sql.exec<{ seq: number }>(`SELECT MIN(seq) AS seq FROM events`).one().seq;
    if (first === null || first > since + 1) return null;
    return this.sql
      .exec<{ envelope: string }>(`SELECT envelope FROM events WHERE seq > ? ORDER BY seq`, since)
      .toArray()
      .map((r) => r.envelope);
  }

  /** Every event of one order, oldest first. */
  forOrder(orderId: string): StoredEvent[] {
    return this.sql
      .exec<{ seq: number; order_id: string; version: number; via: string; at_ms: number; envelope: string }>(
        `SELECT seq, order_id, version, via, at_ms, envelope FROM events WHERE order_id = ? ORDER BY seq`,
        orderId,
      )
      .toArray()
      .map((r) => ({
        seq: r.seq,
        orderId: r.order_id,
        version: r.version,
        via: r.via,
        atMs: r.at_ms,
        envelope: r.envelope,
      }));
  }

  /** Drops events that are both beyond the last RETAIN_EVENTS and older than RETAIN_MS. */
  prune(nowMs: number, keep: (seq: number) => boolean = () => false): number {
    const cutoffSeq = this.cachedSeq - RETAIN_EVENTS;
    if (cutoffSeq <= 0) return 0;
    const candidates = this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM events WHERE seq <= ? AND at_ms < ? ORDER BY seq`,
        cutoffSeq,
        nowMs - RETAIN_MS,
      )
      .toArray();
    // Stop at the first event still needed (e.g. by the outbox) so the log stays a suffix.
    let upTo = 0;
    for (const { seq } of candidates) {
      if (keep(seq)) break;
      upTo = seq;
    }
    if (upTo === 0) return 0;
    return this.sql.exec(`DELETE FROM events WHERE seq <= ?`, upTo).rowsWritten;
  }
}
