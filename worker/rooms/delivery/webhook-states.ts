/**
 * The merchant room's own record of the webhook subscriptions that cover it: which ones it has a
 * cursor for (so they are receivers from the moment the room wakes, and the log keeps what they
 * still need), and how their retries stand. No URL and no secret: those stay in the registry.
 */
import { applyLayout, tableExists } from "../storage-schema.ts";

export interface WebhookState {
  /** When the subscription was created (registry clock): where its cursor starts. */
  createdMs: number;
  /** The event being retried, and when its first attempt failed (the 24 h window counts from it). */
  headSeq: number | null;
  headFailedMs: number | null;
  /** Since when this merchant's deliveries of the subscription are given up on at the first failure. */
  failingSinceMs: number | null;
}

type Row = {
  id: string;
  created_ms: number;
  head_seq: number | null;
  head_failed_ms: number | null;
  failing_since_ms: number | null;
};

export class WebhookStates {
  /** Mirrors the table (a few rows): a delivery that changes nothing writes nothing. */
  private readonly rows = new Map<string, WebhookState>();

  constructor(private readonly storage: DurableObjectStorage) {
    applyLayout(storage, {
      component: "webhooks",
      exists: (sql) => tableExists(sql, "webhook_subscriptions"),
      create: (sql) =>
        sql.exec(`CREATE TABLE webhook_subscriptions (
          id TEXT PRIMARY KEY,
          created_ms INTEGER NOT NULL,
          head_seq INTEGER,
          head_failed_ms INTEGER,
          failing_since_ms INTEGER
        ) WITHOUT ROWID`),
      upgrades: [],
    });
    for (const r of storage.sql.exec<Row>(`SELECT * FROM webhook_subscriptions`).toArray()) {
      this.rows.set(r.id, {
        createdMs: r.created_ms,
        headSeq: r.head_seq,
        headFailedMs: r.head_failed_ms,
        failingSinceMs: r.failing_since_ms,
      });
    }
  }

  ids(): string[] {
    return [...this.rows.keys()];
  }

  get(id: string): WebhookState | null {
    return this.rows.get(id) ?? null;
  }

  add(id: string, createdMs: number): void {
    this.storage.sql.exec(`INSERT OR IGNORE INTO webhook_subscriptions (id, created_ms) VALUES (?, ?)`, id, createdMs);
    if (!this.rows.has(id)) this.rows.set(id, { createdMs, headSeq: null, headFailedMs: null, failingSinceMs: null });
  }

  remove(id: string): void {
    this.storage.sql.exec(`DELETE FROM webhook_subscriptions WHERE id = ?`, id);
    this.rows.delete(id);
  }

  /** When `seq` first failed (now, if this is its first failure). */
  failedAt(id: string, seq: number, nowMs: number): number {
    const s = this.rows.get(id);
    if (!s) return nowMs;
    if (s.headSeq !== seq || s.headFailedMs === null) this.write(id, { ...s, headSeq: seq, headFailedMs: nowMs });
    return this.rows.get(id)!.headFailedMs!;
  }

  /** A message went through: no retry window open, and not failing any more. */
  delivered(id: string): void {
    const s = this.rows.get(id);
    if (s && (s.headSeq !== null || s.failingSinceMs !== null)) this.clear(id);
  }

  markFailing(id: string, nowMs: number): void {
    const s = this.rows.get(id);
    if (s && s.failingSinceMs === null) this.write(id, { ...s, failingSinceMs: nowMs });
  }

  /** Forgets retries and failing (a delivery went through, or its owner asked for a redelivery). */
  clear(id: string): void {
    const s = this.rows.get(id);
    if (s) this.write(id, { ...s, headSeq: null, headFailedMs: null, failingSinceMs: null });
  }

  private write(id: string, s: WebhookState): void {
    this.rows.set(id, s);
    this.storage.sql.exec(
      `UPDATE webhook_subscriptions SET head_seq = ?, head_failed_ms = ?, failing_since_ms = ? WHERE id = ?`,
      s.headSeq,
      s.headFailedMs,
      s.failingSinceMs,
      id,
    );
  }
}
