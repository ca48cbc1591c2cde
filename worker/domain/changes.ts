/**
 * The order state machine as pure functions: given an order, a requested change, who asks and
 * the time, decide the new order and its stream event — or refuse. No I/O here, so every rule
 * is testable alone; the MerchantOrderRoom is the only caller that commits the outcome.
 */
import {
  canTransition,
  isTransition,
  NON_STATUS_CHANGES,
  type Actor,
  type ErrorBody,
  type MerchantActionKind,
  type Order,
  type OrderStatus,
  type StreamEventName,
} from "../../schema/index.ts";
import { decideKitchen } from "./kitchen.ts";

/** Who is asking: a verified token (or the room itself, for the deadline). */
export interface Principal {
  role: Actor["role"];
  id: string;
  /** Set for merchant staff: the store their token is for. */
  merchantId?: string;
}

export const SYSTEM_DEADLINE: Principal = { role: "system", id: "acceptance-deadline" };
/** The room itself at an order's scheduled fire time. */
export const SYSTEM_SCHEDULE: Principal = { role: "system", id: "schedule" };

export type Change =
  | { kind: "ACCEPT"; prepMinutes?: number }
  | { kind: "REJECT"; reason: string }
  | { kind: "MARK_PREPARING" }
  | { kind: "MARK_READY" }
  | { kind: "UPDATE_PREP_TIME"; prepMinutes: number }
  | { kind: "CANCEL"; reason: string }
  | { kind: "EXPIRE" }
  | { kind: "ASSIGN_DRIVER"; driverId: string; name: string; etaMinutes?: number }
  | { kind: "DRIVER_ARRIVED" }
  | { kind: "PICK_UP" }
  | { kind: "DELIVER" }
  // Additions (v2): kitchen operations (domain/kitchen.ts).
  | { kind: "ADJUST_ITEMS"; changes: { index: number; quantity: number }[]; reason: string }
  | { kind: "ITEM_DONE"; index: number; done: boolean }
  | { kind: "RECALL" }
  | { kind: "FIRE" };

export type Decision = { ok: true; order: Order; event: StreamEventName } | { ok: false; error: ErrorBody };

const MINUTE_MS = 60_000;

const refuse = (code: ErrorBody["code"], message: string): Decision => ({ ok: false, error: { code, message } });

/** The merchant action behind a stream event, for the order room's `merchantAction`. */
export function merchantActionOf(event: StreamEventName): MerchantActionKind | undefined {
  switch (event) {
    case "MERCHANT_ACCEPTED":
      return "ACCEPT";
    case "MERCHANT_REJECTED":
      return "REJECT";
    case "MERCHANT_PREPARING":
      return "MARK_PREPARING";
    case "MERCHANT_READY":
      return "MARK_READY";
    case "PREP_TIME_UPDATED":
      return "UPDATE_PREP_TIME";
    case "ORDER_ADJUSTED":
      return "ADJUST_ITEMS";
    case "MERCHANT_RECALLED":
      return "RECALL";
    case "ITEM_DONE":
      return "ITEM_DONE";
    default:
      return undefined;
  }
}

function isOwnMerchant(order: Order, who: Principal): boolean {
  return who.role === "merchant" && who.merchantId === order.merchantId;
}

function isAssignedDriver(order: Order, who: Principal): boolean {
  return who.role === "driver" && order.driver?.id === who.id;
}

/** Dispatch and (Additions v2) a platform's backend: they act for any merchant's orders. */
function isOperator(who: Principal): boolean {
  return who.role === "dispatch" || who.role === "platform";
}

/**
 * May `who` make this kind of change to this order at all (whatever its status)?
 * Refusing here is 403; a permitted actor asking at the wrong moment is 409.
 */
function authorise(order: Order, change: Change, who: Principal): ErrorBody | null {
  switch (change.kind) {
    case "ACCEPT":
    case "REJECT":
    case "MARK_PREPARING":
    case "MARK_READY":
    case "UPDATE_PREP_TIME":
    case "ADJUST_ITEMS":
    case "ITEM_DONE":
    case "RECALL":
      return isOwnMerchant(order, who)
        ? null
        : { code: "FORBIDDEN", message: "only this order's merchant may do that" };
    case "CANCEL":
      if (isOperator(who)) return null;
      if (who.role === "customer" && who.id === order.customerId) return null;
      return { code: "FORBIDDEN", message: "only the order's customer, dispatch or the platform may cancel it" };
    case "EXPIRE":
      return who.role === "system" ? null : { code: "FORBIDDEN", message: "orders expire by themselves" };
    case "FIRE":
      return who.role === "system" ? null : { code: "FORBIDDEN", message: "scheduled orders fire by themselves" };
    case "ASSIGN_DRIVER":
      return isOperator(who) ? null : { code: "FORBIDDEN", message: "only dispatch or the platform assigns drivers" };
    case "DRIVER_ARRIVED":
    case "PICK_UP":
    case "DELIVER":
      // A platform moves the order for its own drivers (Additions v2).
      return isAssignedDriver(order, who) || who.role === "platform"
        ? null
        : { code: "FORBIDDEN", message: "only the assigned driver may do that" };
  }
}

export function moveTo(order: Order, to: OrderStatus, who: Principal, as?: "RECALL"): ErrorBody | null {
  if (canTransition(order.status, to, who.role, as)) return null;
  const why = isTransition(order.status, to) ? " by this role" : "";
  return { code: "INVALID_TRANSITION", message: `cannot go from ${order.status} to ${to}${why}` };
}

export function inStatus(order: Order, allowed: readonly OrderStatus[], what: string): ErrorBody | null {
  return allowed.includes(order.status)
    ? null
    : { code: "INVALID_TRANSITION", message: `cannot ${what} while ${order.status}` };
}

export const plusMinutes = (iso: string, minutes: number) =>
  new Date(Date.parse(iso) + minutes * MINUTE_MS).toISOString();

/**
 * Decide a change. `defaultPrepMinutes` is the merchant's, used when an accept names none.
 */
export function decide(order: Order, change: Change, who: Principal, now: Date, defaultPrepMinutes: number): Decision {
  const denied = authorise(order, change, who);
  if (denied) return { ok: false, error: denied };
  const at = now.toISOString();
  const next = (patch: Partial<Order>, event: StreamEventName): Decision => ({
    ok: true,
    order: { ...order, ...patch, version: order.version + 1, updatedAt: at },
    event,
  });
  let blocked: ErrorBody | null;
  switch (change.kind) {
    case "ACCEPT": {
      if ((blocked = moveTo(order, "ACCEPTED", who))) return { ok: false, error: blocked };
      const prepMinutes = change.prepMinutes ?? defaultPrepMinutes;
      return next(
        { status: "ACCEPTED", acceptedAt: at, prepMinutes, ...timing(order, at, prepMinutes) },
        "MERCHANT_ACCEPTED",
      );
    }
    case "REJECT":
      if ((blocked = moveTo(order, "REJECTED", who))) return { ok: false, error: blocked };
      return next({ status: "REJECTED", rejectedAt: at, rejectReason: change.reason }, "MERCHANT_REJECTED");
    case "MARK_PREPARING":
      if ((blocked = moveTo(order, "PREPARING", who))) return { ok: false, error: blocked };
      return next({ status: "PREPARING", preparingAt: at }, "MERCHANT_PREPARING");
    case "MARK_READY":
      if ((blocked = moveTo(order, "READY", who))) return { ok: false, error: blocked };
      return next({ status: "READY", readyAt: at }, "MERCHANT_READY");
    case "UPDATE_PREP_TIME": {
      if ((blocked = inStatus(order, NON_STATUS_CHANGES.PREP_TIME_UPDATED.in, "change the prep time"))) {
        return { ok: false, error: blocked };
      }
      // prepMinutes counts from acceptance, like on accept, so readyBy stays one formula.
      const from = order.acceptedAt ?? at;
      return next({ prepMinutes: change.prepMinutes, ...timing(order, from, change.prepMinutes) }, "PREP_TIME_UPDATED");
    }
    case "CANCEL":
      if ((blocked = moveTo(order, "CANCELLED", who))) return { ok: false, error: blocked };
      return next(
        {
          status: "CANCELLED",
          cancelledAt: at,
          cancelReason: change.reason,
          cancelledBy: { role: who.role, id: who.id },
        },
        "ORDER_CANCELLED",
      );
    case "EXPIRE":
      if ((blocked = moveTo(order, "EXPIRED", who))) return { ok: false, error: blocked };
      if (now.getTime() < Date.parse(order.acceptBy))
        return refuse("INVALID_TRANSITION", "the accept deadline has not passed");
      return next({ status: "EXPIRED", expiredAt: at }, "ORDER_EXPIRED");
    case "ASSIGN_DRIVER": {
      if ((blocked = inStatus(order, NON_STATUS_CHANGES.DRIVER_ASSIGNED.in, "assign a driver"))) {
        return { ok: false, error: blocked };
      }
      const driver = {
        id: change.driverId,
        name: change.name,
        ...(change.etaMinutes !== undefined ? { etaMinutes: change.etaMinutes } : {}),
        assignedAt: at,
      };
      return next({ driver }, "DRIVER_ASSIGNED");
    }
    case "DRIVER_ARRIVED": {
      if ((blocked = inStatus(order, NON_STATUS_CHANGES.DRIVER_ARRIVED.in, "arrive")))
        return { ok: false, error: blocked };
      if (!order.driver) return refuse("CONFLICT", "no driver is assigned");
      if (order.driver.arrivedAt) return refuse("CONFLICT", "the driver has already arrived");
      return next({ driver: { ...order.driver, arrivedAt: at } }, "DRIVER_ARRIVED");
    }
    case "PICK_UP":
      if ((blocked = moveTo(order, "PICKED_UP", who))) return { ok: false, error: blocked };
      return next({ status: "PICKED_UP", pickedUpAt: at }, "ORDER_PICKED_UP");
    case "DELIVER":
      if ((blocked = moveTo(order, "DELIVERED", who))) return { ok: false, error: blocked };
      return next({ status: "DELIVERED", deliveredAt: at }, "ORDER_DELIVERED");
    case "ADJUST_ITEMS":
    case "ITEM_DONE":
    case "RECALL":
    case "FIRE": {
      const decided = decideKitchen(order, change, who, now);
      return decided.ok ? next(decided.patch, decided.event) : decided;
    }
  }
}

/**
 * When an accepted order should be ready, and (scheduled orders) when to start it: a scheduled
 * order aims at `requestedFor` and fires prep time before it; any other at acceptance + prep.
 */
function timing(order: Order, from: string, prepMinutes: number): Partial<Order> {
  if (!order.requestedFor) return { readyBy: plusMinutes(from, prepMinutes) };
  const aimed = Date.parse(order.requestedFor) >= Date.parse(plusMinutes(from, prepMinutes));
  return {
    readyBy: aimed ? order.requestedFor : plusMinutes(from, prepMinutes),
    ...(order.firedAt ? {} : { fireAt: plusMinutes(order.requestedFor, -prepMinutes) }),
  };
}
