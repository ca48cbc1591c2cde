/**
 * The merchant's settings, kept in the room's `meta` table with a revision, so the D1 projection
 * (side work of the history receiver) knows whether it has the newest.
 */
import type { Merchant, UpsertMerchantBody } from "../../../schema/index.ts";
import type { SettingsSource } from "../delivery/history-receiver.ts";

export class MerchantSettings implements SettingsSource {
  private cached: { merchant: Merchant; rev: number } | null | undefined;

  constructor(private readonly sql: SqlStorage) {}

  private read(key: string): string | null {
    return this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null;
  }

  private write(key: string, value: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }

  current(): { merchant: Merchant; rev: number } | null {
    if (this.cached === undefined) {
      const json = this.read("merchant");
      this.cached = json
        ? { merchant: JSON.parse(json) as Merchant, rev: Number(this.read("merchant_rev") ?? 1) }
        : null;
    }
    return this.cached;
  }

  get(): Merchant | null {
    return this.current()?.merchant ?? null;
  }

  /** Inside a transaction. */
  put(merchant: Merchant): void {
    const rev = (this.current()?.rev ?? 0) + 1;
    this.write("merchant", JSON.stringify(merchant));
    this.write("merchant_rev", String(rev));
    this.cached = { merchant, rev };
  }

  /** Forget the cache (a transaction that wrote it rolled back). */
  reload(): void {
    this.cached = undefined;
  }

  /** A small counter kept with the settings (e.g. orders expired in a row). Inside a transaction. */
  counter(name: string): number {
    return Number(this.read(`counter:${name}`) ?? 0);
  }

  setCounter(name: string, value: number): void {
    if (this.counter(name) !== value) this.write(`counter:${name}`, String(value));
  }

  /**
   * The D1 shard this merchant's history lives in: chosen once (`choose`), the first time it is
   * needed, and kept (worker/db/shards.ts).
   */
  historyShard(choose: () => number): number {
    const stored = this.read("history_shard");
    if (stored !== null) return Number(stored);
    const shard = choose();
    this.write("history_shard", String(shard));
    return shard;
  }

  private projected: number | undefined;

  projectedRev(): number {
    return (this.projected ??= Number(this.read("merchant_projected_rev") ?? 0));
  }

  markProjected(rev: number): void {
    this.write("merchant_projected_rev", String(rev));
    this.projected = rev;
  }
}

/**
 * The merchant after `PUT /api/merchants/:id`: what the body names replaces, what it leaves out
 * stays (defaults for a new merchant); its live state (availability, sold-out items) is untouched.
 */
export function mergeSettings(before: Merchant | null, id: string, body: UpsertMerchantBody): Merchant {
  const optional = (["stations", "allergens", "timeZone", "locationHint", "autoPause"] as const).flatMap((key) => {
    const value = body[key] ?? before?.[key];
    return value === undefined ? [] : [[key, value]];
  });
  return {
    ...before,
    id,
    name: body.name,
    acceptWindowSeconds: body.acceptWindowSeconds ?? before?.acceptWindowSeconds ?? 600,
    defaultPrepMinutes: body.defaultPrepMinutes ?? before?.defaultPrepMinutes ?? 15,
    ...Object.fromEntries(optional),
  };
}
