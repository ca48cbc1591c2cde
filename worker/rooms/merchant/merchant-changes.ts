/**
 * Changes of the merchant itself (Additions v2): availability (open, busy, paused — by the
 * kitchen, dispatch, the platform or the room on its own) and the sold-out list. Each is a stream
 * event without an order, committed like any change.
 */
import type {
  Availability,
  ErrorBody,
  Merchant,
  SetAvailabilityBody,
  SetSoldOutBody,
  SoldOutItem,
} from "../../../schema/index.ts";
import { availabilityAt, DEFAULT_AUTO_PAUSE, endOfDay, soldOutAt } from "../../domain/availability.ts";
import type { Principal } from "../../domain/changes.ts";
import type { CallContext, Result } from "./writer.ts";

/** How far ahead a timed state or an 86 may end. */
const MAX_AHEAD_MS = 7 * 24 * 60 * 60 * 1000;

export const SYSTEM_AVAILABILITY: Principal = { role: "system", id: "availability" };

const refusal = (code: ErrorBody["code"], message: string): Result<never> => ({ ok: false, error: { code, message } });

/** Staff of this merchant, dispatch or a platform: who may change its availability and 86 list. */
export function mayRunKitchen(merchant: Merchant, who: Principal): boolean {
  return (
    (who.role === "merchant" && who.merchantId === merchant.id) || who.role === "dispatch" || who.role === "platform"
  );
}

function checkUntil(until: string | undefined, nowMs: number): Result<never> | null {
  if (until === undefined) return null;
  const ahead = Date.parse(until) - nowMs;
  if (ahead <= 0) return refusal("BAD_REQUEST", "until must be in the future");
  if (ahead > MAX_AHEAD_MS) return refusal("BAD_REQUEST", "until may be at most 7 days ahead");
  return null;
}

/** The availability a request asks for, or why not. */
export function requestedAvailability(
  body: SetAvailabilityBody,
  call: CallContext,
  merchant: Merchant,
  now: Date,
): Result<Availability> {
  if (!mayRunKitchen(merchant, call.principal)) {
    return refusal("FORBIDDEN", "only this kitchen, dispatch or the platform may change its availability");
  }
  const bad = checkUntil(body.until, now.getTime());
  if (bad) return bad;
  const availability: Availability = {
    mode: body.mode,
    ...(body.until !== undefined ? { until: new Date(body.until).toISOString() } : {}),
    ...(body.mode === "BUSY" ? { extraPrepMinutes: body.extraPrepMinutes ?? 10 } : {}),
    ...(body.reason !== undefined ? { reason: body.reason } : {}),
    since: now.toISOString(),
  };
  return { ok: true, value: availability };
}

/** The new sold-out list a request asks for (it replaces the list), or why not. */
export function requestedSoldOut(
  body: SetSoldOutBody,
  call: CallContext,
  merchant: Merchant,
  now: Date,
): Result<SoldOutItem[]> {
  if (!mayRunKitchen(merchant, call.principal)) {
    return refusal("FORBIDDEN", "only this kitchen, dispatch or the platform may change what is sold out");
  }
  const nowMs = now.getTime();
  const items: SoldOutItem[] = [];
  for (const item of body.items) {
    const bad = checkUntil(item.until, nowMs);
    if (bad) return bad;
    const until = item.until ?? new Date(endOfDay(merchant.timeZone, nowMs)).toISOString();
    items.push({ name: item.name.trim(), until: new Date(until).toISOString() });
  }
  return { ok: true, value: items };
}

/** When the room must next look at its merchant's state: a timed state's end, the first 86 to end. */
export function merchantDueTimes(merchant: Merchant, nowMs: number): { reopen: number | null; unsold: number | null } {
  const a = availabilityAt(merchant, nowMs);
  const ends = soldOutAt(merchant, nowMs).map((i) => Date.parse(i.until));
  return { reopen: a.until ? Date.parse(a.until) : null, unsold: ends.length ? Math.min(...ends) : null };
}

export function autoPauseRules(merchant: Merchant): { afterExpiredInARow: number; noScreenMinutes: number } {
  return merchant.autoPause ?? DEFAULT_AUTO_PAUSE;
}
