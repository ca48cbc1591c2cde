/**
 * The D1 projection (drizzle): order history and cross-merchant queries. Written only by the
 * merchant rooms' outboxes, idempotent by order version; the rooms stay the source of truth.
 */
import { sqliteTable, text, integer, primaryKey, index } from "drizzle-orm/sqlite-core";

export const merchants = sqliteTable("merchants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  acceptWindowSeconds: integer("accept_window_seconds").notNull(),
  defaultPrepMinutes: integer("default_prep_minutes").notNull(),
});

export const orders = sqliteTable(
  "orders",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    customerId: text("customer_id").notNull(),
    driverId: text("driver_id"),
    status: text("status").notNull(),
    version: integer("version").notNull(),
    totalCents: integer("total_cents").notNull(),
    placedAt: text("placed_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** The whole order as the room had it at `version`. */
    json: text("json").notNull(),
  },
  (t) => [
    index("orders_by_merchant").on(t.merchantId, t.placedAt, t.id),
    index("orders_by_customer").on(t.customerId, t.placedAt),
    index("orders_by_status").on(t.status),
  ],
);

export const orderItems = sqliteTable(
  "order_items",
  {
    orderId: text("order_id").notNull(),
    position: integer("position").notNull(),
    name: text("name").notNull(),
    quantity: integer("quantity").notNull(),
    unitPriceCents: integer("unit_price_cents").notNull(),
    notes: text("notes"),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.position] })],
);

/** The audit trail, kept here for good: a room's own log is pruned after its retention. */
export const orderEvents = sqliteTable(
  "order_events",
  {
    orderId: text("order_id").notNull(),
    version: integer("version").notNull(),
    seq: integer("seq").notNull(),
    event: text("event").notNull(),
    at: text("at").notNull(),
    actorRole: text("actor_role").notNull(),
    actorId: text("actor_id").notNull(),
    via: text("via").notNull(),
    requestId: text("request_id"),
    orderJson: text("order_json").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.version] })],
);
