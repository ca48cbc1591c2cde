/** The WebhookRegistry's tables. */
import { applyLayout, tableExists } from "../storage-schema.ts";

export function openRegistryTables(storage: DurableObjectStorage): void {
  applyLayout(storage, {
    component: "webhook-registry",
    exists: (sql) => tableExists(sql, "subscriptions"),
    create: (sql) => {
      sql.exec(`CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        url TEXT NOT NULL,
        events TEXT,
        merchant_ids TEXT,
        created_ms INTEGER NOT NULL
      ) WITHOUT ROWID`);
      sql.exec(`CREATE INDEX subscriptions_by_owner ON subscriptions (owner, created_ms)`);
      // Which subscriptions cover a merchant ('*': all of them): a room's question, by index.
      sql.exec(`CREATE TABLE coverage (
        merchant_id TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        PRIMARY KEY (merchant_id, subscription_id)
      ) WITHOUT ROWID`);
      // expires_ms null: the current secret; a rotated-out one signs too until it expires.
      sql.exec(`CREATE TABLE secrets (
        subscription_id TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER,
        PRIMARY KEY (subscription_id, secret)
      ) WITHOUT ROWID`);
      sql.exec(`CREATE TABLE deliveries (
        subscription_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        merchant_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        order_id TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_status_code INTEGER,
        last_error TEXT,
        last_attempt_ms INTEGER NOT NULL,
        latency_ms REAL,
        PRIMARY KEY (subscription_id, message_id)
      ) WITHOUT ROWID`);
      sql.exec(`CREATE INDEX deliveries_recent ON deliveries (subscription_id, last_attempt_ms)`);
      // Merchants where a subscription's deliveries are failing (given up after 24 h of retries).
      sql.exec(`CREATE TABLE failing (
        subscription_id TEXT NOT NULL,
        merchant_id TEXT NOT NULL,
        since_ms INTEGER NOT NULL,
        last_error TEXT,
        PRIMARY KEY (subscription_id, merchant_id)
      ) WITHOUT ROWID`);
      // A repeated Idempotency-Key on create / rotate / delete answers the first result.
      sql.exec(`CREATE TABLE idempotency (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        result TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (owner, key)
      ) WITHOUT ROWID`);
    },
    upgrades: [],
  });
}
