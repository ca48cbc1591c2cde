/**
 * The merchant room's own tables, in one place. A room creates them only when its merchant is
 * set up (a lookup of an unknown merchant must leave no storage behind).
 *
 * Layout choices are about rows written per change (each index entry is a row written, billed
 * and paid for in latency): small tables keyed by what they are looked up by are WITHOUT ROWID
 * (no second index for the key), and only active orders are in the board's index. An order's
 * stream events are found through the seqs kept in its own row (`event_seqs`, rewritten with the
 * row at every change anyway), not through an index on the events: one row per event fewer.
 */
import { applyLayout, type StorageLayout, tableExists } from "../storage-schema.ts";

const CREATE = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    placed_at TEXT NOT NULL,
    active INTEGER NOT NULL,
    json TEXT NOT NULL,
    event_seqs TEXT NOT NULL DEFAULT ''
  ) WITHOUT ROWID`,
  `CREATE INDEX orders_active ON orders (placed_at, id) WHERE active = 1`,
  // History, newest first (GET …/orders?status=all): the room keeps every order.
  `CREATE INDEX orders_by_placed ON orders (placed_at, id)`,
  // One alarm, many deadlines: everything the room must do at a time is a row here (Schedule).
  `CREATE TABLE schedule (key TEXT PRIMARY KEY, due_ms INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID`,
  // A platform's ids for the orders it placed (ExternalIds).
  `CREATE TABLE external_ids (
    external_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL
  ) WITHOUT ROWID`,
  // The rest of a stored result too big for one row (IdempotencyStore).
  `CREATE TABLE idempotency_parts (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    part INTEGER NOT NULL,
    chunk TEXT NOT NULL,
    PRIMARY KEY (scope, key, part)
  ) WITHOUT ROWID`,
];

export const MERCHANT_TABLES: StorageLayout = {
  component: "merchant",
  exists: (sql) => tableExists(sql, "meta"),
  create: (sql) => {
    for (const ddl of CREATE) sql.exec(ddl);
  },
  upgrades: [
    // v1 → v2: rowid tables with a second index for their key become WITHOUT ROWID; the
    // deadlines table becomes the general schedule.
    (sql) => {
      for (const table of ["meta", "orders", "idempotency", "idempotency_parts"]) {
        sql.exec(`ALTER TABLE ${table} RENAME TO ${table}_v1`);
      }
      sql.exec(`DROP INDEX IF EXISTS orders_active`);
      for (const ddl of CREATE) sql.exec(ddl);
      sql.exec(`INSERT INTO meta SELECT key, value FROM meta_v1`);
      sql.exec(`INSERT INTO orders SELECT id, status, version, placed_at, active, json FROM orders_v1`);
      sql.exec(`INSERT INTO idempotency SELECT scope, key, fingerprint, result, created_ms FROM idempotency_v1`);
      sql.exec(`INSERT INTO idempotency_parts SELECT scope, key, part, chunk FROM idempotency_parts_v1`);
      sql.exec(`INSERT INTO schedule SELECT 'expire:' || order_id, due_ms FROM deadlines`);
      for (const table of ["meta_v1", "orders_v1", "idempotency_v1", "idempotency_parts_v1", "deadlines"]) {
        sql.exec(`DROP TABLE ${table}`);
      }
    },
    // v2 → v3: history is served by the room (D1 keeps lean rows only).
    (sql) => {
      sql.exec(`CREATE INDEX IF NOT EXISTS orders_by_placed ON orders (placed_at, id)`);
      sql.exec(`CREATE TABLE IF NOT EXISTS external_ids (
        external_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL
      ) WITHOUT ROWID`);
    },
    // v3 → v4: each order keeps its events' seqs; the events' index by order goes (issue 15).
    (sql) => {
      sql.exec(`ALTER TABLE orders ADD COLUMN event_seqs TEXT NOT NULL DEFAULT ''`);
      if (tableExists(sql, "events")) {
        sql.exec(`UPDATE orders SET event_seqs = COALESCE(
          (SELECT group_concat(seq) FROM (SELECT seq FROM events WHERE events.order_id = orders.id ORDER BY seq)), '')`);
      }
      sql.exec(`DROP INDEX IF EXISTS events_by_order`);
    },
  ],
};

/** Creates (or upgrades) the merchant room's tables. */
export function openMerchantTables(storage: DurableObjectStorage): void {
  applyLayout(storage, MERCHANT_TABLES);
}

/** True once the merchant has been set up in this room. */
export function merchantTablesExist(sql: SqlStorage): boolean {
  return tableExists(sql, "meta");
}
