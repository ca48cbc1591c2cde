/**
 * A merchant's availability (OPEN / BUSY / PAUSED, optionally until a time) and its sold-out
 * ("86") items, as pure functions of the stored state and the time. Additions v2.
 */
import type { Availability, Merchant, SoldOutItem } from "../../schema/index.ts";

export const OPEN: Availability = { mode: "OPEN" };

/** Defaults when a merchant's settings name none: what a busy kitchen would expect. */
export const DEFAULT_AUTO_PAUSE = { afterExpiredInARow: 3, noScreenMinutes: 15 } as const;

/** The availability in force at `nowMs`: a timed state that has ended is OPEN again. */
export function availabilityAt(merchant: Merchant, nowMs: number): Availability {
  const a = merchant.availability ?? OPEN;
  return a.until !== undefined && Date.parse(a.until) <= nowMs ? OPEN : a;
}

/** Prep minutes a new order starts with: the merchant's default, plus BUSY's extra. */
export function defaultPrepMinutes(merchant: Merchant, nowMs: number): number {
  const a = availabilityAt(merchant, nowMs);
  return merchant.defaultPrepMinutes + (a.mode === "BUSY" ? (a.extraPrepMinutes ?? 0) : 0);
}

/** How item names are compared: trimmed, case-insensitively (CONTRACT.md, Additions v2). */
export function itemKey(name: string): string {
  return name.trim().toLocaleLowerCase("en");
}

/** Entries still in force at `nowMs`. */
export function soldOutAt(merchant: Merchant, nowMs: number): SoldOutItem[] {
  return (merchant.soldOut ?? []).filter((i) => Date.parse(i.until) > nowMs);
}

/** The names of `items` that are sold out at `nowMs` (as the order spelled them, once each). */
export function unavailableItems(merchant: Merchant, items: { name: string }[], nowMs: number): string[] {
  const out = new Set(soldOutAt(merchant, nowMs).map((i) => itemKey(i.name)));
  const seen = new Set<string>();
  return items
    .map((i) => i.name)
    .filter((name) => out.has(itemKey(name)) && !seen.has(itemKey(name)) && seen.add(itemKey(name)));
}

/**
 * The end of the merchant's day containing `nowMs`, in its time zone (default UTC): when an
 * `until`-less "86" ends. Found by walking the local clock forward to the next midnight.
 */
export function endOfDay(timeZone: string | undefined, nowMs: number): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: timeZone ?? "UTC",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(nowMs));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const intoDayMs = ((n("hour") * 60 + n("minute")) * 60 + n("second")) * 1000 + (nowMs % 1000);
  // Midnight local is one day's length after local midnight today (DST days are 23/25 h: the
  // next call after a jump corrects by the hour at most, which is as precise as "end of day" needs).
  return nowMs - intoDayMs + 24 * 60 * 60 * 1000;
}
