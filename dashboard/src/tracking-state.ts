/**
 * The tracking page's state as a pure reducer: one order, resumed exactly like the kitchen board
 * (seq applied once, a SNAPSHOT replaces, a gap asks for a resume).
 */
import type { MerchantActionKind, Order, OrderStatus, StreamEventName } from "../../schema/index.ts";
import { emptyStats, judgeSeq, replayDone, type StreamCursor, type StreamStats } from "./stream.ts";

export interface TrackingState {
  cursor: StreamCursor | null;
  order: Order | null;
  /** The last event this page understood (an unknown one only advances the seq). */
  lastEvent: { event: StreamEventName; merchantAction?: MerchantActionKind } | null;
  stats: StreamStats;
  lastEventAt: number | null;
}

export type TrackingEffect =
  | { kind: "gap"; expected: number; got: number }
  | { kind: "changed"; event: StreamEventName };

/** A stream event of the order room; `order` absent for an event this page does not know. */
export interface TrackingInput {
  seq: number;
  event: StreamEventName | (string & {});
  order?: Order;
  merchantAction?: MerchantActionKind;
}

export function initialTracking(order: Order | null = null): TrackingState {
  return { cursor: null, order, lastEvent: null, stats: emptyStats(), lastEventAt: null };
}

export function trackingSnapshot(
  state: TrackingState,
  snap: { seq: number; epoch: string; order: Order | null },
  now: number,
): TrackingState {
  const order =
    snap.order && state.order && state.order.id === snap.order.id && state.order.version > snap.order.version
      ? state.order
      : (snap.order ?? state.order);
  return {
    ...state,
    cursor: { epoch: snap.epoch, since: snap.seq },
    order,
    stats: { ...state.stats, snapshots: state.stats.snapshots + 1 },
    lastEventAt: now,
  };
}

export function trackingEvent(
  state: TrackingState,
  ev: TrackingInput,
  now: number,
): { state: TrackingState; effects: TrackingEffect[] } {
  if (!state.cursor) return { state, effects: [{ kind: "gap", expected: 1, got: ev.seq }] };
  const verdict = judgeSeq(state.cursor.since, ev.seq);
  if (verdict === "duplicate")
    return { state: { ...state, stats: { ...state.stats, duplicates: state.stats.duplicates + 1 } }, effects: [] };
  if (verdict === "gap") {
    return {
      state: { ...state, stats: { ...state.stats, gaps: state.stats.gaps + 1 } },
      effects: [{ kind: "gap", expected: state.cursor.since + 1, got: ev.seq }],
    };
  }
  const cursor = { epoch: state.cursor.epoch, since: ev.seq };
  const stats = { ...state.stats, applied: state.stats.applied + 1 };
  if (!ev.order) return { state: { ...state, cursor, stats, lastEventAt: now }, effects: [] };
  const order = state.order && state.order.version > ev.order.version ? state.order : ev.order;
  const event = ev.event as StreamEventName;
  return {
    state: {
      cursor,
      order,
      lastEvent: { event, ...(ev.merchantAction ? { merchantAction: ev.merchantAction } : {}) },
      stats,
      lastEventAt: now,
    },
    effects: [{ kind: "changed", event }],
  };
}

/** What the kitchen changed after accepting, for the customer: each change and the total before. */
export interface OrderChanges {
  lines: Array<{ name: string; from: number; to: number; reason: string; at: string }>;
  /** The total before the first change. */
  totalBefore: number;
}

export function orderChanges(order: Order): OrderChanges | null {
  const adjustments = order.adjustments ?? [];
  if (adjustments.length === 0) return null;
  let taken = 0;
  const lines = adjustments.flatMap((a) =>
    a.changes.map((c) => {
      const item = order.items[c.index];
      taken += (c.from - c.to) * (item?.unitPriceCents ?? 0);
      return { name: item?.name ?? `Item ${c.index + 1}`, from: c.from, to: c.to, reason: a.reason, at: a.at };
    }),
  );
  return { lines, totalBefore: order.totalCents + taken };
}

export function trackingReplayDone(
  state: TrackingState,
  done: { seq: number; epoch: string },
): { state: TrackingState; effects: TrackingEffect[] } {
  const { state: next, gap } = replayDone(state, done);
  return { state: next, effects: gap ? [gap] : [] };
}

export interface TimelineStep {
  status: OrderStatus;
  label: string;
  at?: string;
  state: "done" | "current" | "todo" | "stopped";
  detail?: string;
}

const HAPPY_PATH: ReadonlyArray<{ status: OrderStatus; label: string; at: keyof Order }> = [
  { status: "PLACED", label: "Order placed", at: "placedAt" },
  { status: "ACCEPTED", label: "Accepted by the kitchen", at: "acceptedAt" },
  { status: "PREPARING", label: "Being prepared", at: "preparingAt" },
  { status: "READY", label: "Ready for pickup", at: "readyAt" },
  { status: "PICKED_UP", label: "Picked up by the driver", at: "pickedUpAt" },
  { status: "DELIVERED", label: "Delivered", at: "deliveredAt" },
];

/**
 * The customer's timeline: the happy path with a time on each step reached; a final
 * rejection, expiry or cancellation ends it with its reason. A skipped step (accepted straight
 * to ready) is shown as done without a time.
 */
export function timeline(order: Order): TimelineStep[] {
  const reachedIndex = HAPPY_PATH.reduce((max, step, i) => (order[step.at] !== undefined ? i : max), 0);
  const stopped = order.status === "REJECTED" || order.status === "CANCELLED" || order.status === "EXPIRED";
  const steps: TimelineStep[] = [];
  HAPPY_PATH.forEach((step, i) => {
    const at = order[step.at] as string | undefined;
    if (stopped && i > reachedIndex) return;
    const state: TimelineStep["state"] =
      i < reachedIndex || (i === reachedIndex && (stopped || order.status === "DELIVERED"))
        ? "done"
        : i === reachedIndex
          ? "current"
          : "todo";
    const detail = step.status === "ACCEPTED" && order.prepMinutes ? `prep time ${order.prepMinutes} min` : undefined;
    steps.push({ status: step.status, label: step.label, ...(at ? { at } : {}), state, ...(detail ? { detail } : {}) });
  });
  if (order.status === "REJECTED") {
    steps.push({
      status: "REJECTED",
      label: "Rejected by the kitchen",
      ...(order.rejectedAt ? { at: order.rejectedAt } : {}),
      state: "stopped",
      ...(order.rejectReason ? { detail: order.rejectReason } : {}),
    });
  } else if (order.status === "CANCELLED") {
    steps.push({
      status: "CANCELLED",
      label: "Cancelled",
      ...(order.cancelledAt ? { at: order.cancelledAt } : {}),
      state: "stopped",
      ...(order.cancelReason ? { detail: order.cancelReason } : {}),
    });
  } else if (order.status === "EXPIRED") {
    steps.push({
      status: "EXPIRED",
      label: "Not accepted in time",
      ...(order.expiredAt ? { at: order.expiredAt } : {}),
      state: "stopped",
      detail: "The restaurant did not confirm your order in time.",
    });
  }
  return steps;
}
