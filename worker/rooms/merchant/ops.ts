/** What an operator (and, for the customers' side, the kitchen) can see inside a merchant room. */
import type { DeliveryStatus } from "../../../schema/index.ts";
import type { Delivery, ParkedChange, ReceiverStatus } from "../delivery/delivery.ts";

export type { DeliveryStatus };

/** Customers' views count as behind once a change has waited this long for its order room. */
export const CUSTOMERS_BEHIND_MS = 5_000;

export interface MerchantOps {
  /** Kitchen screens (merchant staff sockets) connected now. */
  screens: number;
  /** Every socket of the room (screens and dispatch). */
  sockets: number;
  outbox: Record<string, ReceiverStatus>;
  parked: ParkedChange[];
  alarmAt: string | null;
}

/**
 * Whether customers' live views are current. A change of an order nobody watches may wait
 * `quietMs` on purpose (relay-quiet), so only waiting past that, or a relay that failed and waits
 * in the backlog, counts as being behind.
 */
export function deliveryStatusOf(
  delivery: Delivery,
  nowMs: number,
  quietMs: number,
  backlogAgeMs: number,
): DeliveryStatus {
  const relays = delivery.status(nowMs)["order-rooms"];
  const behindMs = Math.max(backlogAgeMs, delivery.cursorAgeMs("order-rooms", nowMs) - quietMs);
  return {
    customersBehind: behindMs >= CUSTOMERS_BEHIND_MS,
    pending: relays?.pending ?? 0,
    oldestPendingAgeMs: relays?.oldestPendingAgeMs ?? 0,
  };
}
