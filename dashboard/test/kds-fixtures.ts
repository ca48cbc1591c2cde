/** Orders, tickets and boards written out by hand for the kitchen display's unit tests. */
import type { Order, OrderStatus } from "../../schema/index.ts";
import { type BoardState, columnOf, type Column, initialBoard, type Ticket } from "../src/kds/board.ts";

export const T0 = Date.parse("2030-01-01T12:00:00.000Z");
export const iso = (ms: number) => new Date(ms).toISOString();

export function order(id: string, patch: Partial<Order> = {}): Order {
  return {
    id: `m1.${id}`,
    merchantId: "m1",
    customerId: "c1",
    status: "PLACED",
    items: [{ name: "Ramen", quantity: 1, unitPriceCents: 1400 }],
    totalCents: 1400,
    version: 1,
    placedAt: iso(T0),
    acceptBy: iso(T0 + 600_000),
    updatedAt: iso(T0),
    ...patch,
  };
}

/**
 * A ticket with its order in `status`. A final status is a ticket leaving the board from
 * `leftFrom` (its banner showing), as the reducer leaves it.
 */
export function ticket(id: string, status: OrderStatus, leftFrom: Column = "new", patch: Partial<Order> = {}): Ticket {
  const column = columnOf(status);
  const o = order(id, { status, ...patch });
  if (column) return { order: o, column, firstSeenAt: T0, seen: true };
  return {
    order: o,
    column: leftFrom,
    firstSeenAt: T0,
    seen: true,
    leaving: { since: T0, removeAt: null, alarm: false },
  };
}

export function boardOf(...tickets: Ticket[]): BoardState {
  return { ...initialBoard(), tickets: Object.fromEntries(tickets.map((t) => [t.order.id, t])) };
}

export const key = (k: string, shiftKey = false) => ({
  key: k,
  shiftKey,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
});
