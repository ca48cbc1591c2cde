/**
 * CallerKeys: one per caller who can act at several merchants (customers, drivers, dispatch).
 *
 * The contract scopes an idempotency key to the caller (role + sub). The key's first result lives
 * in the merchant room that owns the order, which answers repeats and refuses the same key with
 * another body; but a room cannot see keys sent to other merchants. This remembers which merchant
 * each key went to, so the same key sent to another merchant is 422 IDEMPOTENCY_MISMATCH rather
 * than a second operation. Merchant staff never need it: their token names one merchant, so all
 * their keys (REST and socket) meet in that one room.
 */
import { countStorageWrites } from "./rows-written.ts";
import { DurableObject } from "cloudflare:workers";
import { IDEMPOTENCY_TTL_MS } from "../domain/idempotency.ts";

const PRUNE_EVERY_MS = 60 * 60 * 1000;

export class CallerKeys extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private lastPruneMs = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countStorageWrites(env, ctx.storage, "callerKeys");
    this.sql = ctx.storage.sql;
    // WITHOUT ROWID: a key is one row written, not a row and its primary-key index entry (objects
    // made before keep their rowid table; both read and write the same).
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID`,
    );
  }

  /**
   * Binds `key` to `merchantId` on first use. True when the key is new or already this
   * merchant's (the merchant room then answers a repeat or a mismatch itself); false when the
   * caller used it at another merchant within the keys' lifetime.
   */
  claim(key: string, merchantId: string): boolean {
    const now = Date.now();
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) {
      this.lastPruneMs = now;
      this.sql.exec(`DELETE FROM keys WHERE created_ms < ?`, now - IDEMPOTENCY_TTL_MS);
    }
    const row = this.sql
      .exec<{ merchant_id: string; created_ms: number }>(`SELECT merchant_id, created_ms FROM keys WHERE key = ?`, key)
      .toArray()[0];
    if (row && now - row.created_ms < IDEMPOTENCY_TTL_MS) return row.merchant_id === merchantId;
    this.sql.exec(`INSERT OR REPLACE INTO keys (key, merchant_id, created_ms) VALUES (?, ?, ?)`, key, merchantId, now);
    return true;
  }

  /**
   * Unbinds `key` from `merchantId` (the request it came with found no such merchant): a refused
   * request to a merchant that does not exist leaves nothing behind.
   */
  release(key: string, merchantId: string): void {
    this.sql.exec(`DELETE FROM keys WHERE key = ? AND merchant_id = ?`, key, merchantId);
  }
}
