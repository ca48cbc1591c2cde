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
 * `until`-less "86" ends — the next local midnight.
 */
export function endOfDay(timeZone: string | undefined, nowMs: number): number {
  const zone = timeZone ?? "UTC";
  // One wall-clock day after this morning's midnight; on a day the clocks change (23 or 25 h) that
  // lands an hour off midnight, so it is moved by the local time it shows. Where midnight itself
  // does not exist (clocks jump from 00:00), the day ends at the first instant of the next one.
  const guess = nowMs - timeOfDayMs(zone, nowMs) + DAY_MS;
  const drift = timeOfDayMs(zone, guess);
  if (drift === 0) return guess;
  const moved = drift > DAY_MS / 2 ? guess + (DAY_MS - drift) : guess - drift;
  return timeOfDayMs(zone, moved) === 0 && moved > nowMs ? moved : guess;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Milliseconds since local midnight, as the wall clock in `timeZone` shows `ms`. */
function timeOfDayMs(timeZone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return ((n("hour") * 60 + n("minute")) * 60 + n("second")) * 1000 + (((ms % 1000) + 1000) % 1000);
}
