/**
 * The merchant's settings, kept in the room's `meta` table with a revision, so the D1 projection
 * (side work of the history receiver) knows whether it has the newest.
 */
import type { Merchant } from "../../../schema/index.ts";
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

  private projected: number | undefined;

  projectedRev(): number {
    return (this.projected ??= Number(this.read("merchant_projected_rev") ?? 0));
  }

  markProjected(rev: number): void {
    this.write("merchant_projected_rev", String(rev));
    this.projected = rev;
  }
}
