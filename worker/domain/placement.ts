/**
 * Placing an order, as pure functions: who may place for whom, whether the merchant takes it
 * now (paused, sold-out items, the scheduling window) and the new order itself.
 */
import type { ErrorBody, Merchant, Order, PlaceOrderBody } from "../../schema/index.ts";
import { availabilityAt, defaultPrepMinutes, unavailableItems } from "./availability.ts";
import type { Principal } from "./changes.ts";
import { plusMinutes } from "./changes.ts";

const MINUTE_MS = 60_000;
/** A scheduled order is at least this far ahead, and at most (CONTRACT.md, Additions v2). */
export const SCHEDULE_MIN_AHEAD_MS = 15 * MINUTE_MS;
export const SCHEDULE_MAX_AHEAD_MS = 7 * 24 * 60 * MINUTE_MS;

export type PlacementCheck = { ok: true; customerId: string } | { ok: false; error: ErrorBody };

const refuse = (code: ErrorBody["code"], message: string, details?: unknown): PlacementCheck => ({
  ok: false,
  error: { code, message, ...(details !== undefined ? { details } : {}) },
});

/** May `who` place this order at this merchant now? Answers for whom it is placed. */
export function checkPlacement(
  body: PlaceOrderBody,
  who: Principal,
  merchant: Merchant,
  nowMs: number,
): PlacementCheck {
  let customerId: string;
  if (who.role === "customer") {
    if (body.customerId !== undefined || body.externalId !== undefined) {
      return refuse("FORBIDDEN", "customerId and externalId are for a platform placing on a customer's behalf");
    }
    customerId = who.id;
  } else if (who.role === "platform") {
    if (body.customerId === undefined || body.externalId === undefined) {
      return refuse(
        "BAD_REQUEST",
        "a platform names the customer (customerId) and its own id for the order (externalId)",
      );
    }
    customerId = body.customerId;
  } else {
    return refuse("FORBIDDEN", "only customers and platforms place orders");
  }
  const availability = availabilityAt(merchant, nowMs);
  if (availability.mode === "PAUSED") {
    return refuse(
      "MERCHANT_PAUSED",
      availability.until ? `the kitchen is paused until ${availability.until}` : "the kitchen is paused",
      {
        ...(availability.until ? { until: availability.until } : {}),
        ...(availability.reason ? { reason: availability.reason } : {}),
      },
    );
  }
  const unavailable = unavailableItems(merchant, body.items, nowMs);
  if (unavailable.length > 0) {
    return refuse("ITEMS_UNAVAILABLE", `sold out: ${unavailable.join(", ")}`, { items: unavailable });
  }
  if (body.requestedFor !== undefined) {
    const ahead = Date.parse(body.requestedFor) - nowMs;
    if (ahead < SCHEDULE_MIN_AHEAD_MS || ahead > SCHEDULE_MAX_AHEAD_MS) {
      return refuse("BAD_REQUEST", "requestedFor must be at least 15 minutes and at most 7 days ahead", {
        requestedFor: body.requestedFor,
      });
    }
  }
  return { ok: true, customerId };
}

/** A new order (version 1, PLACED), for a placement checkPlacement allowed. */
export function createOrder(
  body: PlaceOrderBody,
  customerId: string,
  merchant: Merchant,
  orderId: string,
  now: Date,
): Order {
  const at = now.toISOString();
  const optional = {
    ...(body.notes !== undefined ? { notes: body.notes } : {}),
    ...(body.customerName !== undefined ? { customerName: body.customerName } : {}),
    ...(body.fulfilment !== undefined ? { fulfilment: body.fulfilment } : {}),
    ...(body.paid !== undefined ? { paid: body.paid } : {}),
    ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
    ...(body.requestedFor !== undefined
      ? {
          requestedFor: new Date(body.requestedFor).toISOString(),
          fireAt: plusMinutes(body.requestedFor, -defaultPrepMinutes(merchant, now.getTime())),
        }
      : {}),
  };
  return {
    id: orderId,
    merchantId: merchant.id,
    customerId,
    status: "PLACED",
    items: body.items,
    totalCents: body.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
    version: 1,
    placedAt: at,
    acceptBy: new Date(now.getTime() + merchant.acceptWindowSeconds * 1000).toISOString(),
    updatedAt: at,
    ...optional,
  };
}
