/**
 * Writes history batches into D1 (one merchant's shard), idempotently: an older or repeated
 * version changes nothing. One lean row per order, rewritten as its version grows.
 */
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { AuditEntry, Merchant, OrderSummary, StreamEventName } from "../../schema/index.ts";
import { countD1Rows } from "../rooms/rows-written.ts";
import { merchants, orders } from "./schema.ts";

/** One change as the merchant room delivers it: the audit entry, with the room's seq. */
export type HistoryChange = AuditEntry & { seq: number; event: StreamEventName };

export interface HistoryBatch {
  merchants: Merchant[];
  changes: HistoryChange[];
}

/** Applies a batch in one D1 batch (one transaction); of several versions of an order, the newest. */
export async function projectChanges(db: DrizzleD1Database, batch: HistoryBatch): Promise<void> {
  const statements: BatchItem<"sqlite">[] = [];
  for (const m of batch.merchants) {
    const row = {
      id: m.id,
      name: m.name,
      acceptWindowSeconds: m.acceptWindowSeconds,
      defaultPrepMinutes: m.defaultPrepMinutes,
    };
    statements.push(db.insert(merchants).values(row).onConflictDoUpdate({ target: merchants.id, set: row }));
  }
  const newest = new Map<string, HistoryChange["order"]>();
  for (const { order } of batch.changes) {
    const had = newest.get(order.id);
    if (!had || had.version < order.version) newest.set(order.id, order);
  }
  for (const o of newest.values()) {
    const row = {
      id: o.id,
      merchantId: o.merchantId,
      customerId: o.customerId,
      driverId: o.driver?.id ?? null,
      externalId: o.externalId ?? null,
      status: o.status,
      version: o.version,
      totalCents: o.totalCents,
      itemCount: o.items.reduce((n, i) => n + i.quantity, 0),
      placedAt: o.placedAt,
      updatedAt: o.updatedAt,
    };
    const { id: _id, merchantId: _m, customerId: _c, placedAt: _p, ...changing } = row;
    statements.push(
      db
        .insert(orders)
        .values(row)
        .onConflictDoUpdate({ target: orders.id, set: changing, setWhere: sql`${orders.version} < excluded.version` }),
    );
  }
  if (statements.length === 0) return;
  countD1Rows(await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]));
}

type Cursor = { placedAt: string; id: string };

/** One shard's page of a customer's orders, newest first (keyset by placedAt, id). */
export async function customerOrdersIn(
  db: DrizzleD1Database,
  customerId: string,
  limit: number,
  after: Cursor | null,
): Promise<OrderSummary[]> {
  const where = after
    ? and(
        eq(orders.customerId, customerId),
        or(lt(orders.placedAt, after.placedAt), and(eq(orders.placedAt, after.placedAt), lt(orders.id, after.id))),
      )
    : eq(orders.customerId, customerId);
  return db
    .select({
      id: orders.id,
      merchantId: orders.merchantId,
      status: orders.status,
      totalCents: orders.totalCents,
      itemCount: orders.itemCount,
      placedAt: orders.placedAt,
      updatedAt: orders.updatedAt,
    })
    .from(orders)
    .where(where)
    .orderBy(desc(orders.placedAt), desc(orders.id))
    .limit(limit) as Promise<OrderSummary[]>;
}
