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

export function deliveryStatusOf(delivery: Delivery, nowMs: number): DeliveryStatus {
  const relays = delivery.status(nowMs)["order-rooms"];
  const oldestPendingAgeMs = relays?.oldestPendingAgeMs ?? 0;
  return {
    customersBehind: oldestPendingAgeMs >= CUSTOMERS_BEHIND_MS,
    pending: relays?.pending ?? 0,
    oldestPendingAgeMs,
  };
}
