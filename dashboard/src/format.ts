/**
 * Pure display helpers shared by the kitchen display and the tracking page: order numbers,
 * clocks, money, and the on-time / due-soon / late rules. No DOM here (unit-tested in node).
 */
import type { Order, OrderStatus } from "../../schema/index.ts";

/** A short, speakable order number: the last four characters of the id's random part. */
export function shortOrderNumber(orderId: string): string {
  const random = orderId.slice(orderId.lastIndexOf(".") + 1);
  return `#${random.slice(-4).toUpperCase()}`;
}

/** `m:ss` (or `h:mm:ss`) of a non-negative duration. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A coarse age: `now`, `42s`, `7m`, `1h 05m`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 5) return "now";
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function money(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

/** `14:05` in the viewer's time zone. */
export function timeOfDay(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export type Urgency = "ok" | "soon" | "late";

/** Icon and word for each urgency: the state is never told by colour alone. */
export const URGENCY_LABEL: Record<Urgency, { icon: string; word: string }> = {
  ok: { icon: "●", word: "On time" },
  soon: { icon: "▲", word: "Due soon" },
  late: { icon: "■", word: "Late" },
};

export interface Deadline {
  urgency: Urgency;
  /** Time left to the deadline; negative once it has passed. */
  msLeft: number;
  /** What the deadline is for, in kitchen words. */
  kind: "accept" | "ready";
}

const MINUTE = 60_000;

/**
 * The deadline a ticket is working against: `acceptBy` while new, `readyBy` while cooking.
 * New: due soon under a third of the accept window (at most 3 min), late in the last minute
 * (at most a tenth) — the order expires at `acceptBy`. Cooking: due soon in the last quarter of
 * the prep time (at most 3 min), late once `readyBy` has passed.
 */
export function deadlineOf(order: Order, now: number): Deadline | null {
  if (order.status === "PLACED") {
    const end = Date.parse(order.acceptBy);
    const window = end - Date.parse(order.placedAt);
    const msLeft = end - now;
    const lateAt = Math.min(MINUTE, window / 10);
    const soonAt = Math.min(3 * MINUTE, window / 3);
    return { kind: "accept", msLeft, urgency: msLeft <= lateAt ? "late" : msLeft <= soonAt ? "soon" : "ok" };
  }
  if ((order.status === "ACCEPTED" || order.status === "PREPARING") && order.readyBy) {
    const end = Date.parse(order.readyBy);
    const total = order.prepMinutes ? order.prepMinutes * MINUTE : end - Date.parse(order.acceptedAt ?? order.placedAt);
    const msLeft = end - now;
    const soonAt = Math.min(3 * MINUTE, total / 4);
    return { kind: "ready", msLeft, urgency: msLeft < 0 ? "late" : msLeft <= soonAt ? "soon" : "ok" };
  }
  return null;
}

/** The countdown in two parts: a short caption and the clock (`accept in` `7:42`, `over` `2:15`). */
export function deadlineParts(d: Deadline): { caption: string; time: string } {
  if (d.kind === "accept") return { caption: d.urgency === "late" ? "expires in" : "accept in", time: clock(d.msLeft) };
  return d.msLeft < 0 ? { caption: "over by", time: clock(-d.msLeft) } : { caption: "ready in", time: clock(d.msLeft) };
}

/** `accept in 7:42` / `expires in 0:40` / `ready in 3:10` / `over by 2:15`. */
export function deadlineText(d: Deadline): string {
  const { caption, time } = deadlineParts(d);
  return `${caption} ${time}`;
}

/** Customer-facing status words. */
export const STATUS_WORDS: Record<OrderStatus, string> = {
  PLACED: "Placed",
  ACCEPTED: "Accepted",
  PREPARING: "Preparing",
  READY: "Ready",
  PICKED_UP: "Picked up",
  DELIVERED: "Delivered",
  REJECTED: "Rejected",
  CANCELLED: "Cancelled",
  EXPIRED: "Expired",
};

export function itemCount(order: Order): number {
  return order.items.reduce((n, i) => n + i.quantity, 0);
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `today 19:30`, `tomorrow 09:15`, `Fri 14 Mar 19:30` — in the viewer's time zone. */
export function dayAndTime(iso: string, now: number): string {
  const d = new Date(iso);
  const day = (ms: number) => {
    const x = new Date(ms);
    return new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  };
  const days = Math.round((day(d.getTime()) - day(now)) / 86_400_000);
  const when =
    days === 0 ? "today" : days === 1 ? "tomorrow" : `${WEEKDAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]}`;
  return `${when} ${timeOfDay(iso)}`;
}
