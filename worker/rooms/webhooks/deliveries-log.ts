/**
 * A subscription's deliveries log: one row per message (`webhook-id`), its latest attempt and how
 * many there were, newest first; and the merchants where it is failing. Rooms report attempts in
 * batches; the log keeps the newest KEEP_PER_SUBSCRIPTION messages of each subscription.
 */
import type { WebhookDelivery } from "../../../schema/index.ts";
import type { DeliveryReport } from "./protocol.ts";

const KEEP_PER_SUBSCRIPTION = 1_000;
const PRUNE_EVERY_MS = 60_000;

type DeliveryRow = {
  message_id: string;
  merchant_id: string;
  seq: number;
  event: string;
  order_id: string | null;
  status: WebhookDelivery["status"];
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_ms: number;
  latency_ms: number | null;
};

export class DeliveriesLog {
  private lastPruneMs = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Records a batch of attempts, in the order they were made; reports of removed subscriptions are dropped. */
  record(reports: DeliveryReport[], nowMs: number): void {
    const known = new Set<string>();
    for (const r of reports) {
      if (!known.has(r.subscriptionId)) {
        if (!this.sql.exec(`SELECT 1 FROM subscriptions WHERE id = ?`, r.subscriptionId).toArray().length) continue;
        known.add(r.subscriptionId);
      }
      this.sql.exec(
        `INSERT INTO deliveries (subscription_id, message_id, merchant_id, seq, event, order_id, status, attempts,
           last_status_code, last_error, last_attempt_ms, latency_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT (subscription_id, message_id) DO UPDATE SET status = excluded.status,
           attempts = attempts + 1, last_status_code = excluded.last_status_code, last_error = excluded.last_error,
           last_attempt_ms = excluded.last_attempt_ms, latency_ms = excluded.latency_ms`,
        r.subscriptionId,
        r.messageId,
        r.merchantId,
        r.seq,
        r.event,
        r.orderId,
        r.outcome,
        r.statusCode ?? null,
        r.error ?? null,
        r.attemptAtMs,
        r.latencyMs,
      );
      if (r.outcome === "failing") {
        this.sql.exec(
          `INSERT INTO failing (subscription_id, merchant_id, since_ms, last_error) VALUES (?, ?, ?, ?)
           ON CONFLICT (subscription_id, merchant_id) DO UPDATE SET last_error = excluded.last_error`,
          r.subscriptionId,
          r.merchantId,
          r.attemptAtMs,
          r.error ?? null,
        );
      } else if (r.outcome === "delivered") {
        // A message went through: the endpoint takes this merchant's events again.
        this.sql.exec(
          `DELETE FROM failing WHERE subscription_id = ? AND merchant_id = ?`,
          r.subscriptionId,
          r.merchantId,
        );
      }
    }
    if (nowMs - this.lastPruneMs >= PRUNE_EVERY_MS) this.prune(nowMs, known);
  }

  private prune(nowMs: number, subscriptions: Set<string>): void {
    this.lastPruneMs = nowMs;
    for (const id of subscriptions) {
      const cut = this.sql
        .exec<{ t: number }>(
          `SELECT last_attempt_ms AS t FROM deliveries WHERE subscription_id = ? ORDER BY last_attempt_ms DESC LIMIT 1 OFFSET ?`,
          id,
          KEEP_PER_SUBSCRIPTION,
        )
        .toArray()[0];
      if (cut) this.sql.exec(`DELETE FROM deliveries WHERE subscription_id = ? AND last_attempt_ms <= ?`, id, cut.t);
    }
  }

  list(subscriptionId: string, limit: number): WebhookDelivery[] {
    return this.sql
      .exec<DeliveryRow>(
        `SELECT message_id, merchant_id, seq, event, order_id, status, attempts, last_status_code, last_error,
           last_attempt_ms, latency_ms
         FROM deliveries WHERE subscription_id = ? ORDER BY last_attempt_ms DESC, seq DESC LIMIT ?`,
        subscriptionId,
        limit,
      )
      .toArray()
      .map((r) => ({
        messageId: r.message_id,
        event: r.event,
        merchantId: r.merchant_id,
        seq: r.seq,
        ...(r.order_id !== null ? { orderId: r.order_id } : {}),
        status: r.status,
        attempts: r.attempts,
        ...(r.last_status_code !== null ? { lastStatusCode: r.last_status_code } : {}),
        ...(r.last_error !== null ? { lastError: r.last_error } : {}),
        lastAttemptAt: new Date(r.last_attempt_ms).toISOString(),
        ...(r.latency_ms !== null ? { latencyMs: r.latency_ms } : {}),
      }));
  }

  failing(subscriptionId: string): { merchantId: string; since: string; lastError?: string }[] {
    return this.sql
      .exec<{ merchant_id: string; since_ms: number; last_error: string | null }>(
        `SELECT merchant_id, since_ms, last_error FROM failing WHERE subscription_id = ? ORDER BY since_ms`,
        subscriptionId,
      )
      .toArray()
      .map((f) => ({
        merchantId: f.merchant_id,
        since: new Date(f.since_ms).toISOString(),
        ...(f.last_error !== null ? { lastError: f.last_error } : {}),
      }));
  }

  forget(subscriptionId: string): void {
    this.sql.exec(`DELETE FROM deliveries WHERE subscription_id = ?`, subscriptionId);
    this.sql.exec(`DELETE FROM failing WHERE subscription_id = ?`, subscriptionId);
  }
}
