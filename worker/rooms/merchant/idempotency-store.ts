/**
 * Results of keyed operations (a REST `Idempotency-Key` or a socket `requestId`: one namespace
 * per caller), so a repeat answers the first answer and changes nothing. Written inside the
 * operation's transaction: a result is stored exactly when its changes are.
 */
import { IDEMPOTENCY_TTL_MS } from "../../domain/idempotency.ts";

/**
 * Characters per stored part of a result. SQLite-backed Durable Objects cap a row at 2 MB (the
 * local runtime allows more) and a bulk of 100 large orders answers several MB; at most 3 bytes
 * per character in UTF-8, a part is ≤ 768 KB.
 */
const RESULT_PART_CHARS = 256 * 1024;

export type Prior = { kind: "none" } | { kind: "same"; resultJson: string } | { kind: "mismatch" };

export class IdempotencyStore {
  constructor(private readonly sql: SqlStorage) {}

  /** What a key already holds for this caller: nothing, this request's result, or another request. */
  lookup(scope: string, key: string, fingerprint: string): Prior {
    const prior = this.sql
      .exec<{ fingerprint: string; result: string }>(
        `SELECT fingerprint, result FROM idempotency WHERE scope = ? AND key = ?`,
        scope,
        key,
      )
      .toArray()[0];
    if (!prior) return { kind: "none" };
    if (prior.fingerprint !== fingerprint) return { kind: "mismatch" };
    const rest = this.sql
      .exec<{ chunk: string }>(
        `SELECT chunk FROM idempotency_parts WHERE scope = ? AND key = ? ORDER BY part`,
        scope,
        key,
      )
      .toArray();
    return { kind: "same", resultJson: prior.result + rest.map((r) => r.chunk).join("") };
  }

  /** Stores a result under its key, in parts that never split a surrogate pair. */
  store(scope: string, key: string, fingerprint: string, resultJson: string, nowMs: number): void {
    const parts: string[] = [];
    for (let start = 0; start < resultJson.length; ) {
      let end = Math.min(resultJson.length, start + RESULT_PART_CHARS);
      const last = resultJson.charCodeAt(end - 1);
      if (end < resultJson.length && last >= 0xd800 && last <= 0xdbff) end--;
      parts.push(resultJson.slice(start, end));
      start = end;
    }
    this.sql.exec(
      `INSERT OR REPLACE INTO idempotency (scope, key, fingerprint, result, created_ms) VALUES (?, ?, ?, ?, ?)`,
      scope,
      key,
      fingerprint,
      parts[0] ?? "",
      nowMs,
    );
    if (parts.length > 1 || this.hasParts(scope, key)) {
      // Leftovers of an expired use of the same key must not be read as part of this result.
      this.sql.exec(`DELETE FROM idempotency_parts WHERE scope = ? AND key = ?`, scope, key);
      for (let i = 1; i < parts.length; i++) {
        this.sql.exec(
          `INSERT INTO idempotency_parts (scope, key, part, chunk) VALUES (?, ?, ?, ?)`,
          scope,
          key,
          i,
          parts[i]!,
        );
      }
    }
  }

  private hasParts(scope: string, key: string): boolean {
    return (
      this.sql.exec(`SELECT 1 FROM idempotency_parts WHERE scope = ? AND key = ? LIMIT 1`, scope, key).toArray()
        .length > 0
    );
  }

  /** Forgets keys older than the contract's 24 h (kept 25 h). */
  prune(nowMs: number): void {
    this.sql.exec(`DELETE FROM idempotency WHERE created_ms < ?`, nowMs - IDEMPOTENCY_TTL_MS);
    this.sql.exec(
      `DELETE FROM idempotency_parts WHERE NOT EXISTS
         (SELECT 1 FROM idempotency i WHERE i.scope = idempotency_parts.scope AND i.key = idempotency_parts.key)`,
    );
  }
}
