/**
 * The kitchen board as a pure reducer: snapshots and stream events in, tickets and effects
 * (sounds, alarms, resyncs) out. The clock is an argument, so every rule is unit-testable.
 *
 * - A SNAPSHOT replaces the board (keeping only what this screen knows locally: which tickets
 *   were already seen, and cancellation alarms nobody has acknowledged yet).
 * - A stream event is applied exactly once: seq <= last applied is ignored; a gap is refused
 *   and reported, so the connection resumes from the last applied seq.
 * - Orders leave when picked up; rejected / expired / cancelled tickets stay a short while with
 *   a banner; a cancellation of an order already cooking stays until someone acknowledges it.
 */
import {
  type Actor,
  type Availability,
  type DeliveryStatus,
  isActiveStatus,
  type Merchant,
  type MerchantEventName,
  type Order,
  type SoldOutItem,
  type StreamEventName,
} from "../../../schema/index.ts";
import { judgeSeq, emptyStats, replayDone, type StreamCursor, type StreamStats } from "../stream.ts";
import { type Column, laneOf } from "./lanes.ts";

export { type Column, COLUMNS, columnOf, LANES, laneOf, waitsToFire } from "./lanes.ts";

/** How long a rejected / expired / cancelled (not yet cooking) ticket keeps its banner. */
export const LEAVE_MS = 10_000;

export interface Leaving {
  since: number;
  /** null: stays until acknowledged (an order cancelled while cooking). */
  removeAt: number | null;
  alarm: boolean;
}

export interface Ticket {
  order: Order;
  /** The column it sits in; a leaving ticket stays in the column it left from. */
  column: Column;
  /** When this screen first saw it. */
  firstSeenAt: number;
  /** A new order flashes until someone looks at it (touch, focus or action). */
  seen: boolean;
  leaving?: Leaving;
}

export interface BoardState {
  cursor: StreamCursor | null;
  tickets: Readonly<Record<string, Ticket>>;
  /** The kitchen itself (settings, availability, 86 list): from SNAPSHOT, kept current by its events. */
  merchant: Merchant | null;
  stats: StreamStats;
  /** When the last snapshot or stream event arrived (ms). */
  lastEventAt: number | null;
  /** Whether customers' live views are behind (the room's DELIVERY_STATUS; null: not told). */
  delivery: DeliveryStatus | null;
}

export type BoardEffect =
  | { kind: "new-order"; orderId: string }
  | { kind: "cancelled-while-cooking"; orderId: string }
  /** A scheduled order's time has come: it leaves the strip and joins the line. */
  | { kind: "fired"; orderId: string }
  /** Accepted, by any screen (a screen that prints on accept prints it). */
  | { kind: "accepted"; orderId: string }
  | { kind: "availability"; availability: Availability; actor: Actor }
  | { kind: "gap"; expected: number; got: number };

export interface BoardUpdate {
  state: BoardState;
  effects: BoardEffect[];
}

export function initialBoard(): BoardState {
  return { cursor: null, tickets: {}, merchant: null, stats: emptyStats(), lastEventAt: null, delivery: null };
}

export interface SnapshotInput {
  seq: number;
  epoch: string;
  orders: Order[];
  merchant?: Merchant;
  delivery?: DeliveryStatus;
}

export function applySnapshot(state: BoardState, snap: SnapshotInput, now: number): BoardUpdate {
  const tickets: Record<string, Ticket> = {};
  const effects: BoardEffect[] = [];
  for (const order of snap.orders) {
    const column = laneOf(order);
    if (!column) continue;
    const before = state.tickets[order.id];
    const isNewToScreen = before === undefined;
    tickets[order.id] = {
      order,
      column,
      firstSeenAt: before?.firstSeenAt ?? now,
      seen: before ? before.seen || order.status !== "PLACED" : order.status !== "PLACED",
    };
    if (isNewToScreen && order.status === "PLACED" && state.cursor !== null)
      effects.push({ kind: "new-order", orderId: order.id });
  }
  // An unacknowledged cancellation alarm is a job for the cook, not a room fact: keep it.
  for (const [id, t] of Object.entries(state.tickets)) {
    if (t.leaving?.alarm && !tickets[id]) tickets[id] = t;
  }
  return {
    state: {
      cursor: { epoch: snap.epoch, since: snap.seq },
      tickets,
      merchant: snap.merchant ?? state.merchant,
      stats: { ...state.stats, snapshots: state.stats.snapshots + 1 },
      lastEventAt: now,
      delivery: snap.delivery ?? state.delivery,
    },
    effects,
  };
}

/** The room says whether customers' views are behind (DELIVERY_STATUS; not a stream event). */
export function applyDeliveryStatus(state: BoardState, delivery: DeliveryStatus): BoardUpdate {
  return { state: { ...state, delivery }, effects: [] };
}

export interface StreamInput {
  seq: number;
  /** A name this screen does not know only advances the stream (CONTRACT.md, Additions v2). */
  event: StreamEventName | MerchantEventName | (string & {});
  /** Absent for an event about the merchant rather than one order. */
  order?: Order;
  /** MERCHANT_AVAILABILITY_CHANGED. */
  availability?: Availability;
  /** SOLD_OUT_CHANGED: the whole list, as it is now. */
  soldOut?: SoldOutItem[];
  actor?: Actor;
}

export function applyStreamEvent(state: BoardState, ev: StreamInput, now: number): BoardUpdate {
  if (!state.cursor) return { state, effects: [{ kind: "gap", expected: 1, got: ev.seq }] };
  const verdict = judgeSeq(state.cursor.since, ev.seq);
  if (verdict === "duplicate") {
    return { state: { ...state, stats: { ...state.stats, duplicates: state.stats.duplicates + 1 } }, effects: [] };
  }
  if (verdict === "gap") {
    return {
      state: { ...state, stats: { ...state.stats, gaps: state.stats.gaps + 1 } },
      effects: [{ kind: "gap", expected: state.cursor.since + 1, got: ev.seq }],
    };
  }
  const tickets = { ...state.tickets };
  const effects: BoardEffect[] = [];
  if (ev.order) {
    const before = tickets[ev.order.id];
    // Versions only grow; an older copy of an order never overwrites a newer one.
    const order = before && before.order.version > ev.order.version ? before.order : ev.order;
    const next = nextTicket(before, order, now);
    if (next.effect) effects.push(next.effect);
    if (next.ticket) tickets[order.id] = next.ticket;
    else delete tickets[order.id];
    if (ev.event === "MERCHANT_ACCEPTED") effects.push({ kind: "accepted", orderId: order.id });
  }
  const merchant = merchantAfter(state.merchant, ev);
  if (ev.availability && ev.actor)
    effects.push({ kind: "availability", availability: ev.availability, actor: ev.actor });
  return {
    state: {
      cursor: { epoch: state.cursor.epoch, since: ev.seq },
      tickets,
      merchant,
      stats: { ...state.stats, applied: state.stats.applied + 1 },
      lastEventAt: now,
      delivery: state.delivery,
    },
    effects,
  };
}

/** The kitchen after an event about it: availability or the 86 list replaced; anything else, as it was. */
function merchantAfter(merchant: Merchant | null, ev: StreamInput): Merchant | null {
  if (!merchant) return merchant;
  if (ev.event === "MERCHANT_AVAILABILITY_CHANGED" && ev.availability)
    return { ...merchant, availability: ev.availability };
  if (ev.event === "SOLD_OUT_CHANGED" && ev.soldOut) return { ...merchant, soldOut: ev.soldOut };
  return merchant;
}

/**
 * An order's ticket after a change: in its column; leaving with a banner (rejected, expired,
 * cancelled); or gone (undefined) — picked up, or never on this board.
 */
function nextTicket(before: Ticket | undefined, order: Order, now: number): { ticket?: Ticket; effect?: BoardEffect } {
  const column = laneOf(order);
  if (column) {
    const fresh = before === undefined;
    // Fired: it joins the line flashing, like a new order, until someone looks at it.
    const fired = before?.column === "scheduled" && column !== "scheduled" && order.firedAt !== undefined;
    const seen = fresh ? order.status !== "PLACED" : !fired && (before.seen || order.status !== "PLACED");
    const ticket = { order, column, firstSeenAt: before?.firstSeenAt ?? now, seen };
    if (fresh && order.status === "PLACED") return { ticket, effect: { kind: "new-order", orderId: order.id } };
    return fired ? { ticket, effect: { kind: "fired", orderId: order.id } } : { ticket };
  }
  if (order.status === "PICKED_UP" || order.status === "DELIVERED" || !before) return {};
  if (before.leaving) return { ticket: { ...before, order } };
  // REJECTED, EXPIRED, CANCELLED: a banner first, so nobody wonders where the ticket went.
  // A scheduled order still waiting in the strip was never started: no alarm for it.
  const wasCooking = before.column === "cooking" || before.column === "ready";
  const alarm = order.status === "CANCELLED" && wasCooking;
  const ticket = {
    ...before,
    order,
    seen: true,
    leaving: { since: now, removeAt: alarm ? null : now + LEAVE_MS, alarm },
  };
  return alarm ? { ticket, effect: { kind: "cancelled-while-cooking", orderId: order.id } } : { ticket };
}

/** After a replay the client must be exactly at the room's seq; anything else is a gap. */
export function applyReplayDone(state: BoardState, done: { seq: number; epoch: string }): BoardUpdate {
  const { state: next, gap } = replayDone(state, done);
  return { state: next, effects: gap ? [gap] : [] };
}

/**
 * Gives up resuming: the next connect asks for a SNAPSHOT, which replaces the board. Used when
 * resuming keeps failing (a replay that never lines up must not loop forever).
 */
export function forgetCursor(state: BoardState): BoardState {
  return { ...state, cursor: null };
}

/** Drops tickets whose banner has been shown long enough. */
export function expireLeaving(state: BoardState, now: number): BoardState {
  const gone = Object.values(state.tickets).filter(
    (t) => t.leaving && t.leaving.removeAt !== null && t.leaving.removeAt <= now,
  );
  if (gone.length === 0) return state;
  const tickets = { ...state.tickets };
  for (const t of gone) delete tickets[t.order.id];
  return { ...state, tickets };
}

/** The cook saw the cancellation alarm: the ticket goes. */
export function acknowledgeAlarm(state: BoardState, orderId: string): BoardState {
  const t = state.tickets[orderId];
  if (!t?.leaving) return state;
  const tickets = { ...state.tickets };
  delete tickets[orderId];
  return { ...state, tickets };
}

export function markSeen(state: BoardState, orderIds: Iterable<string>): BoardState {
  let tickets: Record<string, Ticket> | null = null;
  for (const id of orderIds) {
    const t = state.tickets[id];
    if (t && !t.seen) {
      tickets ??= { ...state.tickets };
      tickets[id] = { ...t, seen: true };
    }
  }
  return tickets ? { ...state, tickets } : state;
}

/**
 * Tickets of one column in working order: New by accept deadline, Cooking by ready-by, Ready by
 * when they became ready (oldest first: the driver takes the oldest bag first).
 */
export function ticketsIn(state: BoardState, column: Column): Ticket[] {
  const key = (t: Ticket): string => {
    const o = t.order;
    if (column === "scheduled") return o.fireAt ?? o.placedAt;
    if (column === "new") return o.acceptBy;
    if (column === "cooking") return o.readyBy ?? o.acceptedAt ?? o.placedAt;
    return o.readyAt ?? o.placedAt;
  };
  return Object.values(state.tickets)
    .filter((t) => t.column === column)
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.order.id < b.order.id ? -1 : 1));
}

/** Tickets that need the cook's eyes on the alarm banner. */
export function alarms(state: BoardState): Ticket[] {
  return Object.values(state.tickets)
    .filter((t) => t.leaving?.alarm)
    .sort((a, b) => a.leaving!.since - b.leaving!.since);
}

export function isActionable(t: Ticket): boolean {
  return !t.leaving && isActiveStatus(t.order.status);
}
