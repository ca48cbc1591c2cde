/**
 * The D1 projection (drizzle): lean rows for cross-merchant queries and history indexes. Written
 * only by the merchant rooms' history receivers, idempotent by order version; the rooms stay the
 * source of truth. What is not here on purpose: the order's items and its per-version audit
 * trail — the merchant room keeps those (its `orders` and event log), so D1 grows by one small
 * row per order, not by the whole order again for every change. See README "History and capacity".
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
    externalId: text("external_id"),
    status: text("status").notNull(),
    version: integer("version").notNull(),
    totalCents: integer("total_cents").notNull(),
    itemCount: integer("item_count").notNull().default(0),
    placedAt: text("placed_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("orders_by_merchant").on(t.merchantId, t.placedAt),
    index("orders_by_customer").on(t.customerId, t.placedAt),
  ],
);
