/** Writes outbox batches into D1, idempotently: an older or repeated version changes nothing. */
import { sql, desc, and, eq, lt, or, asc } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import type { Actor, AuditEntry, Merchant, Order, StreamEventName, Via } from "../../schema/index.ts";
import { merchants, orderEvents, orderItems, orders } from "./schema.ts";

/** One change as D1 keeps it: the audit entry, with the merchant room's seq. */
export type HistoryChange = AuditEntry & { seq: number; event: StreamEventName };

export interface HistoryBatch {
  merchants: Merchant[];
  changes: HistoryChange[];
}

/**
 * D1 binds at most 100 parameters per statement, and an item row has 6 columns: an order of more
 * than 16 items in one INSERT was refused ("too many SQL variables"), forever, taking the rest of
 * its projection batch down with it on every retry.
 */
const ITEM_ROWS_PER_STATEMENT = Math.floor(100 / 6);

/** Applies a batch in one D1 batch (one transaction). */
export async function projectChanges(db: DrizzleD1Database, batch: HistoryBatch): Promise<void> {
  const statements: BatchItem<"sqlite">[] = [];
  for (const m of batch.merchants) {
    statements.push(
      db
        .insert(merchants)
        .values(m)
        .onConflictDoUpdate({
          target: merchants.id,
          set: { name: m.name, acceptWindowSeconds: m.acceptWindowSeconds, defaultPrepMinutes: m.defaultPrepMinutes },
        }),
    );
  }
  for (const c of batch.changes) {
    const o = c.order;
    const row = {
      id: o.id,
      merchantId: o.merchantId,
      customerId: o.customerId,
      driverId: o.driver?.id ?? null,
      status: o.status,
      version: o.version,
      totalCents: o.totalCents,
      placedAt: o.placedAt,
      updatedAt: o.updatedAt,
      json: JSON.stringify(o),
    };
    statements.push(
      db
        .insert(orders)
        .values(row)
        .onConflictDoUpdate({
          target: orders.id,
          set: {
            status: row.status,
            driverId: row.driverId,
            // An adjustment after acceptance lowers the total (Additions v2, kitchen operations).
            totalCents: row.totalCents,
            version: row.version,
            updatedAt: row.updatedAt,
            json: row.json,
          },
          setWhere: sql`${orders.version} < excluded.version`,
        }),
    );
    if (o.version === 1) {
      const items = o.items.map((item, position) => ({
        orderId: o.id,
        position,
        name: item.name,
        quantity: item.quantity,
        unitPriceCents: item.unitPriceCents,
        notes: item.notes ?? null,
      }));
      for (let i = 0; i < items.length; i += ITEM_ROWS_PER_STATEMENT) {
        statements.push(
          db
            .insert(orderItems)
            .values(items.slice(i, i + ITEM_ROWS_PER_STATEMENT))
            .onConflictDoNothing(),
        );
      }
    }
    statements.push(
      db
        .insert(orderEvents)
        .values({
          orderId: o.id,
          version: o.version,
          seq: c.seq,
          event: c.event,
          at: c.at,
          actorRole: c.actor.role,
          actorId: c.actor.id,
          via: c.via,
          requestId: c.requestId ?? null,
          orderJson: row.json,
        })
        .onConflictDoNothing(),
    );
  }
  if (statements.length === 0) return;
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

/** A merchant's order history, newest first, keyset-paginated by (placedAt, id). */
export async function orderHistory(
  db: DrizzleD1Database,
  merchantId: string,
  limit: number,
  cursor: { placedAt: string; id: string } | null,
): Promise<{ orders: Order[]; next: { placedAt: string; id: string } | null }> {
  const where = cursor
    ? and(
        eq(orders.merchantId, merchantId),
        or(lt(orders.placedAt, cursor.placedAt), and(eq(orders.placedAt, cursor.placedAt), lt(orders.id, cursor.id))),
      )
    : eq(orders.merchantId, merchantId);
  const rows = await db
    .select({ json: orders.json, placedAt: orders.placedAt, id: orders.id })
    .from(orders)
    .where(where)
    .orderBy(desc(orders.placedAt), desc(orders.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    orders: page.map((r) => JSON.parse(r.json) as Order),
    next: rows.length > limit && last ? { placedAt: last.placedAt, id: last.id } : null,
  };
}

/** An order's audit trail from D1 (used once the room's own log has been pruned). */
export async function auditTrailFromHistory(db: DrizzleD1Database, orderId: string): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(orderEvents)
    .where(eq(orderEvents.orderId, orderId))
    .orderBy(asc(orderEvents.version));
  return rows.map((r) => ({
    event: r.event,
    at: r.at,
    actor: { role: r.actorRole as Actor["role"], id: r.actorId },
    via: r.via as Via,
    ...(r.requestId !== null ? { requestId: r.requestId } : {}),
    order: JSON.parse(r.orderJson) as Order,
  }));
}
