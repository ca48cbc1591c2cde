import type { OrderStatus } from "./order.ts";

/** Who may make a change: a token role, or the room itself (`system`: deadlines, scheduled times). */
export type ChangeMaker = "customer" | "merchant" | "driver" | "dispatch" | "platform" | "system";

/** The contract's status transition table, one row per allowed (from, to, by). */
export const STATUS_TRANSITIONS: ReadonlyArray<{
  from: OrderStatus;
  to: OrderStatus;
  by: ChangeMaker;
  /** A move made only by this named action (not by a plain "go to `to`"). */
  as?: "RECALL";
}> = [
  { from: "PLACED", to: "ACCEPTED", by: "merchant" },
  { from: "PLACED", to: "REJECTED", by: "merchant" },
  { from: "PLACED", to: "EXPIRED", by: "system" },
  { from: "PLACED", to: "CANCELLED", by: "customer" },
  { from: "PLACED", to: "CANCELLED", by: "dispatch" },
  { from: "ACCEPTED", to: "PREPARING", by: "merchant" },
  { from: "ACCEPTED", to: "READY", by: "merchant" },
  { from: "PREPARING", to: "READY", by: "merchant" },
  { from: "ACCEPTED", to: "CANCELLED", by: "dispatch" },
  { from: "PREPARING", to: "CANCELLED", by: "dispatch" },
  { from: "READY", to: "CANCELLED", by: "dispatch" },
  { from: "READY", to: "PICKED_UP", by: "driver" },
  { from: "PICKED_UP", to: "DELIVERED", by: "driver" },
  // Additions (v2): a platform may do what dispatch may, and move the order for its own drivers.
  { from: "PLACED", to: "CANCELLED", by: "platform" },
  { from: "ACCEPTED", to: "CANCELLED", by: "platform" },
  { from: "PREPARING", to: "CANCELLED", by: "platform" },
  { from: "READY", to: "CANCELLED", by: "platform" },
  { from: "READY", to: "PICKED_UP", by: "platform" },
  { from: "PICKED_UP", to: "DELIVERED", by: "platform" },
  // Additions (v2): recall, a ticket bumped to READY by mistake (within RECALL_WINDOW_MS of readyAt).
  { from: "READY", to: "PREPARING", by: "merchant", as: "RECALL" },
];

/** How long after `readyAt` the kitchen may still recall an order (CONTRACT.md, Additions v2). */
export const RECALL_WINDOW_MS = 10 * 60 * 1000;

/**
 * True if `by` may move an order from `from` to `to` (ownership is checked separately); `as`
 * names the action for the moves only one action makes (a recall, not a plain "start").
 */
export function canTransition(from: OrderStatus, to: OrderStatus, by: ChangeMaker, as?: "RECALL"): boolean {
  return STATUS_TRANSITIONS.some((t) => t.from === from && t.to === to && t.by === by && t.as === as);
}

/** True if some role may ever move an order from `from` to `to`. */
export function isTransition(from: OrderStatus, to: OrderStatus): boolean {
  return STATUS_TRANSITIONS.some((t) => t.from === from && t.to === to);
}

/**
 * Changes that are events but not status changes: who may make them and in which statuses
 * (CONTRACT.md, below the transition table).
 */
export const NON_STATUS_CHANGES = {
  DRIVER_ASSIGNED: { by: ["dispatch", "platform"], in: ["PLACED", "ACCEPTED", "PREPARING", "READY"] },
  DRIVER_ARRIVED: { by: ["driver", "platform"], in: ["ACCEPTED", "PREPARING", "READY"] },
  PREP_TIME_UPDATED: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
  // Additions (v2): kitchen operations.
  ORDER_ADJUSTED: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
  ITEM_DONE: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
  ORDER_FIRED: { by: ["system"], in: ["PLACED", "ACCEPTED"] },
} as const satisfies Record<string, { by: readonly ChangeMaker[]; in: readonly OrderStatus[] }>;

/** The statuses an order can still leave. */
export function isFinal(status: OrderStatus): boolean {
  return !STATUS_TRANSITIONS.some((t) => t.from === status);
}
