/** Delivery's own tables: a cursor per receiver, parked changes, the order rooms' backlog. */
import { type StorageLayout, tableExists } from "../storage-schema.ts";

function createDeliveryTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE receivers (
    name TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_ms INTEGER
  ) WITHOUT ROWID`);
  sql.exec(`CREATE TABLE parked (
    receiver TEXT NOT NULL,
    seq INTEGER NOT NULL,
    order_id TEXT,
    error TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (receiver, seq)
  ) WITHOUT ROWID`);
  sql.exec(`CREATE TABLE relay_backlog (
    order_id TEXT PRIMARY KEY,
    from_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    since_ms INTEGER NOT NULL,
    last_error TEXT
  ) WITHOUT ROWID`);
  createWatchedOrders(sql);
}

/** Orders some socket watches: their relays go at once (OrderRoomReceiver). */
function createWatchedOrders(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS watched_orders (order_id TEXT PRIMARY KEY) WITHOUT ROWID`);
}

export const DELIVERY_TABLES: StorageLayout = {
  component: "delivery",
  // Rooms made before cursors had an outbox table (version 1).
  exists: (sql) => tableExists(sql, "outbox"),
  create: createDeliveryTables,
  upgrades: [
    // v1 (an outbox row per change and receiver) → cursors: each receiver resumes just before
    // its oldest undelivered change.
    (sql) => {
      createDeliveryTables(sql);
      const head = sql.exec<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM events`).one().seq ?? 0;
      const targets = [
        ["order-room", "order-rooms"],
        ["projection", "history"],
      ] as const;
      for (const [target, name] of targets) {
        const oldest = sql
          .exec<{ seq: number | null }>(
            `SELECT MIN(seq) AS seq FROM outbox WHERE target = ? AND seq IS NOT NULL`,
            target,
          )
          .one().seq;
        sql.exec(`INSERT INTO receivers (name, cursor) VALUES (?, ?)`, name, oldest === null ? head : oldest - 1);
      }
      sql.exec(`DROP TABLE outbox`);
    },
    // v2 → v3: lazy relays to order rooms nobody watches.
    createWatchedOrders,
  ],
};
