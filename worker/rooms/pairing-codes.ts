/**
 * PairingCodes: the one place pairing codes live (a singleton, `idFromName("global")`).
 *
 * A code is typed on a tablet that knows nothing yet, so the code alone must lead to its
 * merchant; eight characters leave no room to embed a routable merchant id, and the guessing
 * limit needs one global count of failures anyway. Pairing is rare (a few screens per merchant,
 * ever), so one object serves every merchant.
 *
 * - A code is 8 characters of a 31-letter alphabet without look-alikes (no 0/O, 1/I/L): 31^8 ≈
 *   8.5·10^11 codes, shown as XXXX-XXXX. It is single use and lives CODE_TTL_MS. Stored hashed.
 * - Failed attempts are counted per client (IPv4 address, IPv6 /64) and globally, in storage
 *   (an eviction must not reset a lockout). A client over PAIR_FAILURE_LIMIT, or everyone while
 *   the global count is over PAIR_GLOBAL_FAILURE_LIMIT, gets 429 — even for a right code, or the
 *   lockout would not stop guessing. With the defaults and 100 codes alive at once, a guesser at
 *   the global limit (14,400 tries a day) expects to find one in about 1,600 years; the cost is that a flood of wrong codes
 *   pauses pairing for everyone for a window (the operator sees it and can raise the limit).
 */
import { DurableObject } from "cloudflare:workers";
import { countStorageWrites } from "./rows-written.ts";
import { sha256Hex } from "../auth/device-credentials.ts";
import { parseRateLimit, type RateLimit } from "../rate-limit.ts";
import { applyLayout, type StorageLayout, tableExists } from "./storage-schema.ts";

export const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const CODE_LENGTH = 8;
export const CODE_TTL_MS = 10 * 60 * 1000;
/** Codes alive at once per merchant: fewer live codes, fewer to guess. */
export const MAX_LIVE_CODES_PER_MERCHANT = 10;
export const DEFAULT_CLIENT_FAILURES: RateLimit = { limit: 10, windowMs: 10 * 60 * 1000 };
export const DEFAULT_GLOBAL_FAILURES: RateLimit = { limit: 100, windowMs: 10 * 60 * 1000 };
const GLOBAL = "*";
const PRUNE_EVERY_MS = 60 * 1000;

const LAYOUT: StorageLayout = {
  component: "pairing",
  exists: (sql) => tableExists(sql, "codes"),
  create: (sql) => {
    sql.exec(`CREATE TABLE codes (hash TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, expires_ms INTEGER NOT NULL)
      WITHOUT ROWID`);
    sql.exec(`CREATE INDEX codes_merchant ON codes (merchant_id)`);
    sql.exec(`CREATE TABLE failures (scope TEXT PRIMARY KEY, window_start_ms INTEGER NOT NULL, count INTEGER NOT NULL)
      WITHOUT ROWID`);
  },
  upgrades: [],
};

export type CreateCodeResult =
  | { ok: true; code: string; expiresAt: string }
  | { ok: false; code: "RATE_LIMITED"; message: string };

export type RedeemResult =
  | { ok: true; merchantId: string }
  | { ok: false; code: "UNAUTHORIZED"; message: string }
  | { ok: false; code: "RATE_LIMITED"; message: string; retryAfterSeconds: number };

export class PairingCodes extends DurableObject<Env> {
  /** The object's clock; tests move it past expiry and lockout windows. */
  clock: () => number = () => Date.now();
  private readonly sql: SqlStorage;
  private readonly clientLimit: RateLimit;
  private readonly globalLimit: RateLimit;
  private lastPruneMs = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countStorageWrites(env, ctx.storage, "pairingCodes");
    applyLayout(ctx.storage, LAYOUT);
    this.sql = ctx.storage.sql;
    this.clientLimit = parseRateLimit(env.PAIR_FAILURE_LIMIT, DEFAULT_CLIENT_FAILURES);
    this.globalLimit = parseRateLimit(env.PAIR_GLOBAL_FAILURE_LIMIT, DEFAULT_GLOBAL_FAILURES);
  }

  /** A new single-use code for the merchant (the Worker checked that the merchant exists). */
  async create(merchantId: string): Promise<CreateCodeResult> {
    for (;;) {
      const code = newCode();
      const hash = await sha256Hex(code);
      // Synchronous from here: no other call interleaves between the checks and the insert.
      const now = this.clock();
      this.prune(now);
      const live = this.sql
        .exec<{ n: number }>(
          `SELECT COUNT(*) AS n FROM codes WHERE merchant_id = ? AND expires_ms > ?`,
          merchantId,
          now,
        )
        .one().n;
      if (live >= MAX_LIVE_CODES_PER_MERCHANT) {
        return { ok: false, code: "RATE_LIMITED", message: "too many unused pairing codes for this merchant" };
      }
      const expiresMs = now + CODE_TTL_MS;
      const inserted = this.sql.exec(
        `INSERT OR IGNORE INTO codes (hash, merchant_id, expires_ms) VALUES (?, ?, ?)`,
        hash,
        merchantId,
        expiresMs,
      ).rowsWritten;
      // A clash with a live code (about one in 10^9 per code alive): draw again.
      if (inserted > 0) return { ok: true, code: formatCode(code), expiresAt: new Date(expiresMs).toISOString() };
    }
  }

  /** Spends `code` (normalised: upper case, no separators) for `client`. */
  async redeem(code: string, client: string): Promise<RedeemResult> {
    const hash = await sha256Hex(code);
    const now = this.clock();
    this.prune(now);
    const scope = `client:${client}`;
    const locked = this.lockedFor(GLOBAL, this.globalLimit, now) ?? this.lockedFor(scope, this.clientLimit, now);
    if (locked !== null) {
      return {
        ok: false,
        code: "RATE_LIMITED",
        message: "too many wrong pairing codes; wait and try again",
        retryAfterSeconds: Math.max(1, Math.ceil(locked / 1000)),
      };
    }
    const row = this.sql
      .exec<{ merchant_id: string; expires_ms: number }>(
        `SELECT merchant_id, expires_ms FROM codes WHERE hash = ?`,
        hash,
      )
      .toArray()[0];
    if (row) this.sql.exec(`DELETE FROM codes WHERE hash = ?`, hash);
    if (row && row.expires_ms > now) return { ok: true, merchantId: row.merchant_id };
    this.fail(GLOBAL, this.globalLimit, now);
    this.fail(scope, this.clientLimit, now);
    return { ok: false, code: "UNAUTHORIZED", message: "this pairing code is wrong, used or expired" };
  }

  /** Milliseconds until `scope` may try again, or null if it may now. */
  private lockedFor(scope: string, rule: RateLimit, now: number): number | null {
    const row = this.sql
      .exec<{ window_start_ms: number; count: number }>(
        `SELECT window_start_ms, count FROM failures WHERE scope = ?`,
        scope,
      )
      .toArray()[0];
    if (!row || now - row.window_start_ms >= rule.windowMs || row.count < rule.limit) return null;
    return row.window_start_ms + rule.windowMs - now;
  }

  private fail(scope: string, rule: RateLimit, now: number): void {
    this.sql.exec(
      `INSERT INTO failures (scope, window_start_ms, count) VALUES (?, ?, 1)
       ON CONFLICT (scope) DO UPDATE SET
         count = CASE WHEN ? - window_start_ms >= ? THEN 1 ELSE count + 1 END,
         window_start_ms = CASE WHEN ? - window_start_ms >= ? THEN ? ELSE window_start_ms END`,
      scope,
      now,
      now,
      rule.windowMs,
      now,
      rule.windowMs,
      now,
    );
  }

  private prune(now: number): void {
    if (now - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = now;
    this.sql.exec(`DELETE FROM codes WHERE expires_ms <= ?`, now);
    const longest = Math.max(this.clientLimit.windowMs, this.globalLimit.windowMs);
    this.sql.exec(`DELETE FROM failures WHERE window_start_ms <= ?`, now - longest);
  }
}

/** CODE_LENGTH characters of CODE_ALPHABET, uniformly (rejection sampling: no modulo bias). */
export function newCode(): string {
  const limit = 256 - (256 % CODE_ALPHABET.length);
  let code = "";
  while (code.length < CODE_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte < limit && code.length < CODE_LENGTH) code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
    }
  }
  return code;
}

/** XXXX-XXXX: easier to read out and type. The dash is ignored when the code comes back. */
export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * Whom failures are counted against: the client's address (Cloudflare's `cf-connecting-ip`),
 * an IPv6 address by its /64 (one subscriber's whole network), "unknown" without one.
 */
export function clientKey(ip: string | undefined): string {
  const address = ip?.trim();
  if (!address) return "unknown";
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(":")}::/64`;
}
