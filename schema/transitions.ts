import type { OrderStatus } from "./order.ts";

/** Who may make a change: a token role, or the room itself (`system`, the deadline alarm). */
export type ChangeMaker = "customer" | "merchant" | "driver" | "dispatch" | "system";

/** The contract's status transition table, one row per allowed (from, to, by). */
export const STATUS_TRANSITIONS: ReadonlyArray<{ from: OrderStatus; to: OrderStatus; by: ChangeMaker }> = [
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
];

/** True if `by` may move an order from `from` to `to` (ownership is checked separately). */
export function canTransition(from: OrderStatus, to: OrderStatus, by: ChangeMaker): boolean {
  return STATUS_TRANSITIONS.some((t) => t.from === from && t.to === to && t.by === by);
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
  DRIVER_ASSIGNED: { by: "dispatch", in: ["PLACED", "ACCEPTED", "PREPARING", "READY"] },
  DRIVER_ARRIVED: { by: "driver", in: ["ACCEPTED", "PREPARING", "READY"] },
  PREP_TIME_UPDATED: { by: "merchant", in: ["ACCEPTED", "PREPARING"] },
} as const satisfies Record<string, { by: ChangeMaker; in: readonly OrderStatus[] }>;

/** The statuses an order can still leave. */
export function isFinal(status: OrderStatus): boolean {
  return !STATUS_TRANSITIONS.some((t) => t.from === status);
}
