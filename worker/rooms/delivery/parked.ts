/**
 * Changes a receiver could never take (D1 refusing one change, a webhook endpoint failing one
 * for longer than its retry window): kept with their error for operators (`ops().parked`), so a
 * change that is given up on is never given up on silently.
 */
import type { StoredEvent } from "../event-log.ts";

/** Parked records are kept a week: long enough for an operator to look, then gone. */
const KEEP_MS = 7 * 24 * 60 * 60 * 1000;

export interface ParkedChange {
  receiver: string;
  seq: number;
  orderId?: string;
  error: string;
  at: string;
}

export class ParkedChanges {
  constructor(private readonly sql: SqlStorage) {}

  park(receiver: string, event: StoredEvent, error: string, nowMs: number): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO parked (receiver, seq, order_id, error, at_ms) VALUES (?, ?, ?, ?, ?)`,
      receiver,
      event.seq,
      event.orderId,
      error,
      nowMs,
    );
  }

  /** Newest first. */
  list(limit: number): ParkedChange[] {
    return this.sql
      .exec<{ receiver: string; seq: number; order_id: string | null; error: string; at_ms: number }>(
        `SELECT receiver, seq, order_id, error, at_ms FROM parked ORDER BY at_ms DESC, seq DESC LIMIT ?`,
        limit,
      )
      .toArray()
      .map((p) => ({
        receiver: p.receiver,
        seq: p.seq,
        ...(p.order_id !== null ? { orderId: p.order_id } : {}),
        error: p.error,
        at: new Date(p.at_ms).toISOString(),
      }));
  }

  /** Parked records are kept a week (operators look at them; the events themselves may be gone). */
  prune(nowMs: number): void {
    this.sql.exec(`DELETE FROM parked WHERE at_ms < ?`, nowMs - KEEP_MS);
  }
}
