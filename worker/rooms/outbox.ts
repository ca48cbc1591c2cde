/**
 * The merchant room's outbox: every committed change must reach the order's OrderRoom and the
 * D1 projection. Rows are written in the same transaction as the change and deleted only once
 * the receiver acknowledged; receivers are idempotent by order version, so a retry after a lost
 * acknowledgement changes nothing. An outage of either receiver delays history, never the kitchen.
 */
import type { Merchant, Order, StreamEventName, Via } from "../../schema/index.ts";
import { merchantActionOf } from "../domain/changes.ts";
import type { ProjectionBatch, ProjectedChange } from "../db/projection.ts";
import type { RelayEnvelope, RelayAck } from "./order-room.ts";

export interface OutboxTargets {
  orderRoom: (orderId: string, relay: RelayEnvelope) => Promise<RelayAck>;
  projection: (batch: ProjectionBatch) => Promise<void>;
}

type Target = "order-room" | "projection";

type Row = {
  id: number;
  target: Target;
  seq: number | null;
  order_id: string | null;
  merchant_json: string | null;
  attempts: number;
  next_ms: number;
  envelope: string | null;
  via: string | null;
};

const SCAN_LIMIT = 2000;
const PROJECTION_BATCH = 200;
const PARALLEL_ORDER_ROOMS = 32;

/** Retry delay after `attempts` failures: 250 ms doubling to 30 s. */
export function backoffMs(attempts: number): number {
  return Math.min(30_000, 250 * 2 ** Math.max(0, attempts - 1));
}

export class Outbox {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      target TEXT NOT NULL,
      seq INTEGER,
      order_id TEXT,
      merchant_json TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_ms INTEGER NOT NULL,
      last_error TEXT
    )`);
    sql.exec(`CREATE INDEX IF NOT EXISTS outbox_seq ON outbox (seq)`);
  }

  /** Queues one committed change for both receivers (inside the change's transaction). */
  addChange(seq: number, orderId: string, nowMs: number): void {
    this.sql.exec(
      `INSERT INTO outbox (target, seq, order_id, next_ms) VALUES ('order-room', ?1, ?2, ?3), ('projection', ?1, ?2, ?3)`,
      seq,
      orderId,
      nowMs,
    );
  }

  addMerchant(merchant: Merchant, nowMs: number): void {
    this.sql.exec(
      `INSERT INTO outbox (target, merchant_json, next_ms) VALUES ('projection', ?, ?)`,
      JSON.stringify(merchant),
      nowMs,
    );
  }

  size(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n;
  }

  /** True while an event is still to be delivered (so the log must keep it). */
  holds(seq: number): boolean {
    return this.sql.exec(`SELECT 1 FROM outbox WHERE seq = ? LIMIT 1`, seq).toArray().length > 0;
  }

  /**
   * When the next row is due, or null if the outbox is empty. Projection rows are not due before
   * `projectionNotBefore` (the room batches D1 writes, see MerchantOrderRoom.flush).
   */
  nextAttemptMs(projectionNotBefore: number): number | null {
    return this.sql
      .exec<{ t: number | null }>(
        `SELECT MIN(CASE WHEN target = 'projection' THEN MAX(next_ms, ?) ELSE next_ms END) AS t FROM outbox`,
        projectionNotBefore,
      )
      .one().t;
  }

  /** Rows acknowledged so far (tells deliver whether a pass made progress). */
  private delivered = 0;

  /**
   * Delivers what is due. Relays of one order go in seq order and stop at the first failure, so
   * an OrderRoom never sees version n+1 before n; different orders go in parallel. A pass takes
   * at most SCAN_LIMIT rows and PROJECTION_BATCH projections: `more` says another pass has work
   * (it was full and made progress; a failing receiver's rows back off instead of spinning).
   * Without `project`, D1 rows wait for a later pass; `projected` says whether a batch went.
   */
  async deliver(targets: OutboxTargets, nowMs: number, project = true): Promise<{ more: boolean; projected: boolean }> {
    const deliveredBefore = this.delivered;
    const rows = this.sql
      .exec<Row>(
        `SELECT o.id, o.target, o.seq, o.order_id, o.merchant_json, o.attempts, o.next_ms, e.envelope, e.via
         FROM outbox o LEFT JOIN events e ON e.seq = o.seq ORDER BY o.id LIMIT ${SCAN_LIMIT}`,
      )
      .toArray();
    const due = (r: Row) => r.attempts === 0 || r.next_ms <= nowMs;

    const dueProjection = project ? rows.filter((r) => r.target === "projection" && due(r)) : [];
    const projection = dueProjection.slice(0, PROJECTION_BATCH);
    const perOrder = new Map<string, Row[]>();
    const blocked = new Set<string>();
    for (const r of rows) {
      if (r.target !== "order-room" || r.order_id === null || blocked.has(r.order_id)) continue;
      if (!due(r)) {
        blocked.add(r.order_id);
        continue;
      }
      const list = perOrder.get(r.order_id);
      if (list) list.push(r);
      else perOrder.set(r.order_id, [r]);
    }
    await Promise.all([
      this.deliverProjection(targets, projection, nowMs),
      this.deliverOrderRooms(targets, [...perOrder.values()], nowMs),
    ]);
    const full = rows.length === SCAN_LIMIT || dueProjection.length > PROJECTION_BATCH;
    return { more: full && this.delivered > deliveredBefore, projected: projection.length > 0 };
  }

  private async deliverProjection(targets: OutboxTargets, rows: Row[], nowMs: number): Promise<void> {
    if (rows.length === 0) return;
    const batch: ProjectionBatch = { merchants: [], changes: [] };
    for (const r of rows) {
      if (r.merchant_json !== null) batch.merchants.push(JSON.parse(r.merchant_json) as Merchant);
      else if (r.envelope !== null) batch.changes.push(projectedChange(r));
    }
    try {
      await targets.projection(batch);
      this.done(rows);
    } catch (err) {
      this.failed(rows, err, nowMs);
    }
  }

  private async deliverOrderRooms(targets: OutboxTargets, orders: Row[][], nowMs: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < orders.length) {
        const rows = orders[next++]!;
        for (const r of rows) {
          try {
            const ack = await targets.orderRoom(r.order_id!, relayOf(r));
            if (!ack.ok) throw new Error(`order room is at version ${ack.version}`);
            this.done([r]);
          } catch (err) {
            this.failed([r], err, nowMs);
            break; // keep this order's relays in order: the rest wait for this one
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_ORDER_ROOMS, orders.length) }, worker));
  }

  private done(rows: Row[]): void {
    for (const r of rows) this.sql.exec(`DELETE FROM outbox WHERE id = ?`, r.id);
    this.delivered += rows.length;
  }

  private failed(rows: Row[], err: unknown, nowMs: number): void {
    const message = err instanceof Error ? err.message : String(err);
    for (const r of rows) {
      this.sql.exec(
        `UPDATE outbox SET attempts = attempts + 1, next_ms = ?, last_error = ? WHERE id = ?`,
        nowMs + backoffMs(r.attempts + 1),
        message.slice(0, 500),
        r.id,
      );
    }
  }
}

interface StoredEnvelope {
  event: StreamEventName;
  at: string;
  requestId?: string;
  payload: { order: Order; actor: { role: ProjectedChange["actor"]["role"]; id: string } };
}

function relayOf(r: Row): RelayEnvelope {
  const env = JSON.parse(r.envelope!) as StoredEnvelope;
  const merchantAction = merchantActionOf(env.event);
  return {
    event: env.event,
    at: env.at,
    order: env.payload.order,
    ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
    ...(merchantAction ? { merchantAction } : {}),
  };
}

function projectedChange(r: Row): ProjectedChange {
  const env = JSON.parse(r.envelope!) as StoredEnvelope;
  return {
    seq: r.seq!,
    event: env.event,
    at: env.at,
    actor: env.payload.actor,
    via: r.via as Via,
    ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
    order: env.payload.order,
  };
}
