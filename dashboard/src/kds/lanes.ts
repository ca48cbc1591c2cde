/**
 * Where a ticket sits on the board: the three columns of the line (New, Cooking, Ready) or the
 * Scheduled strip above them, where a scheduled order waits until the room fires it.
 */
import type { Order, OrderStatus } from "../../../schema/index.ts";

/** Where a ticket sits: the three columns of the line, or the Scheduled strip above them. */
export type Column = "scheduled" | "new" | "cooking" | "ready";

export const COLUMNS: ReadonlyArray<{ id: Exclude<Column, "scheduled">; title: string }> = [
  { id: "new", title: "New" },
  { id: "cooking", title: "Cooking" },
  { id: "ready", title: "Ready" },
];

/** Every place a ticket can be, in the order the bump-bar focus walks them (← from New reaches the strip). */
export const LANES: readonly Column[] = ["scheduled", "new", "cooking", "ready"];

/** A scheduled order waits in the strip until it fires (or the kitchen starts it early). */
export function waitsToFire(order: Order): boolean {
  return (
    order.fireAt !== undefined &&
    order.firedAt === undefined &&
    (order.status === "PLACED" || order.status === "ACCEPTED")
  );
}

/** Where an order's ticket goes: the strip while it waits to fire, else its status's column. */
export function laneOf(order: Order): Column | null {
  return waitsToFire(order) ? "scheduled" : columnOf(order.status);
}

export function columnOf(status: OrderStatus): Exclude<Column, "scheduled"> | null {
  switch (status) {
    case "PLACED":
      return "new";
    case "ACCEPTED":
    case "PREPARING":
      return "cooking";
    case "READY":
      return "ready";
    default:
      return null;
  }
}
