/**
 * Every operation on a merchant's orders, by name: REST routes and socket frames both build an
 * Operation and the room runs it through this one table, so an action and its REST twin are the
 * same operation (same checks, same events, same idempotency fingerprint). The merchant's socket
 * actions keep their contract names; the rest are named for what they do.
 */
import type {
  AssignDriverBody,
  Availability,
  BulkItemResult,
  Merchant,
  MerchantAction,
  Order,
  PlaceOrderBody,
  SoldOutItem,
} from "../../../schema/index.ts";
import { availabilityAt } from "../../domain/availability.ts";
import type { Change } from "../../domain/changes.ts";
import { checkPlacement, createOrder } from "../../domain/placement.ts";
import { requestedAvailability, requestedSoldOut } from "./merchant-changes.ts";
import { newOrderId } from "./order-ids.ts";
import { type CallContext, fingerprintOf, notFound, type Result, refused, type Writer } from "./writer.ts";

type SocketOperation = {
  [A in MerchantAction["action"]]: { action: A; payload: Extract<MerchantAction, { action: A }>["payload"] };
}[MerchantAction["action"]];

export type Operation =
  | SocketOperation
  | { action: "PLACE_ORDER"; payload: PlaceOrderBody }
  | { action: "CANCEL_ORDER"; payload: { orderId: string; reason: string } }
  | { action: "ASSIGN_DRIVER"; payload: AssignDriverBody & { orderId: string } }
  | { action: "DRIVER_ARRIVED"; payload: { orderId: string } }
  | { action: "PICK_UP"; payload: { orderId: string } }
  | { action: "DELIVER"; payload: { orderId: string } }
  // The room's own, at a scheduled time (the system principal only).
  | { action: "EXPIRE"; payload: { orderId: string } }
  | { action: "FIRE"; payload: { orderId: string } }
  | { action: "REOPEN"; payload: Record<string, never> }
  | { action: "END_SOLD_OUT"; payload: Record<string, never> }
  | { action: "AUTO_PAUSE"; payload: { detail: string } };

export type OperationName = Operation["action"];
/** A placement answers whether it made the order (a platform's repeated externalId does not). */
export type OperationValue =
  | Order
  | { results: BulkItemResult[] }
  | { availability: Availability }
  | { items: SoldOutItem[] }
  | { placed: Order; created: boolean };

/** What a handler may use: the write path and the merchant. */
export interface OperationContext {
  writer: Writer;
  merchant: Merchant;
  now: Date;
}

type Handler<A extends OperationName> = (
  ctx: OperationContext,
  call: CallContext,
  payload: Extract<Operation, { action: A }>["payload"],
) => Result<OperationValue>;

const change =
  <P extends { orderId: string }>(toChange: (p: P) => Change) =>
  (ctx: OperationContext, call: CallContext, p: P): Result<OperationValue> =>
    ctx.writer.applyChange(call, p.orderId, toChange(p), ctx.now);

/** Each order that can move, moves, in the one transaction; one result per order, in order. */
const bulk =
  <P extends { orderIds: string[] }>(toChange: (p: P) => Change) =>
  (ctx: OperationContext, call: CallContext, p: P): Result<OperationValue> => {
    const c = toChange(p);
    const results = p.orderIds.map((orderId): BulkItemResult => {
      const r = ctx.writer.applyChange(call, orderId, c, ctx.now);
      return r.ok ? { orderId, ok: true, order: r.value } : { orderId, ok: false, error: r.error };
    });
    return { ok: true, value: { results } };
  };

const withPrep = (prepMinutes: number | undefined) => (prepMinutes !== undefined ? { prepMinutes } : {});

const systemOnly = (call: CallContext): Result<never> | null =>
  call.principal.role === "system" ? null : refused("FORBIDDEN", "only the room itself does that");

function settle({ writer, merchant, now }: OperationContext, call: CallContext): Result<OperationValue> {
  const no = systemOnly(call);
  if (no) return no;
  if (!writer.settleEnded(now)) return refused("CONFLICT", "nothing has ended");
  return { ok: true, value: { availability: availabilityAt(merchant, now.getTime()) } };
}

export const OPERATIONS: { [A in OperationName]: Handler<A> } = {
  PLACE_ORDER: place,
  MERCHANT_ACCEPT: change((p) => ({ kind: "ACCEPT", ...withPrep(p.prepMinutes) })),
  MERCHANT_REJECT: change((p) => ({ kind: "REJECT", reason: p.reason })),
  MERCHANT_MARK_PREPARING: change(() => ({ kind: "MARK_PREPARING" })),
  MERCHANT_MARK_READY: change(() => ({ kind: "MARK_READY" })),
  MERCHANT_UPDATE_PREP_TIME: change((p) => ({ kind: "UPDATE_PREP_TIME", prepMinutes: p.prepMinutes })),
  BULK_ACCEPT: bulk((p) => ({ kind: "ACCEPT", ...withPrep(p.prepMinutes) })),
  BULK_MARK_READY: bulk(() => ({ kind: "MARK_READY" })),
  MERCHANT_ADJUST_ITEMS: change((p) => ({ kind: "ADJUST_ITEMS", changes: p.changes, reason: p.reason })),
  MERCHANT_ITEM_DONE: change((p) => ({ kind: "ITEM_DONE", index: p.index, done: p.done })),
  MERCHANT_RECALL: change(() => ({ kind: "RECALL" })),
  MERCHANT_SET_AVAILABILITY: ({ writer, merchant, now }, call, body) => {
    const next = requestedAvailability(body, call, merchant, now);
    if (!next.ok) return next;
    writer.commitAvailability(next.value, call, now);
    return { ok: true, value: { availability: next.value } };
  },
  MERCHANT_SET_SOLD_OUT: ({ writer, merchant, now }, call, body) => {
    const next = requestedSoldOut(body, call, merchant, now);
    if (!next.ok) return next;
    writer.commitSoldOut(next.value, call, now);
    return { ok: true, value: { items: next.value } };
  },
  CANCEL_ORDER: change((p) => ({ kind: "CANCEL", reason: p.reason })),
  ASSIGN_DRIVER: change((p) => ({
    kind: "ASSIGN_DRIVER",
    driverId: p.driverId,
    name: p.name,
    ...(p.etaMinutes !== undefined ? { etaMinutes: p.etaMinutes } : {}),
  })),
  DRIVER_ARRIVED: change(() => ({ kind: "DRIVER_ARRIVED" })),
  PICK_UP: change(() => ({ kind: "PICK_UP" })),
  DELIVER: change(() => ({ kind: "DELIVER" })),
  EXPIRE: change(() => ({ kind: "EXPIRE" })),
  FIRE: change(() => ({ kind: "FIRE" })),
  // The alarm at a timed state's or an 86's end: announce it (if nothing announced it already).
  REOPEN: settle,
  END_SOLD_OUT: settle,
  AUTO_PAUSE: ({ writer, merchant, now }, call, p) => {
    const no = systemOnly(call);
    if (no) return no;
    if (availabilityAt(merchant, now.getTime()).mode === "PAUSED") return refused("CONFLICT", "already paused");
    const paused: Availability = { mode: "PAUSED", reason: "auto", detail: p.detail, since: now.toISOString() };
    writer.commitAvailability(paused, call, now);
    return { ok: true, value: { availability: paused } };
  },
};

/**
 * A placement. A platform's `externalId` is its own idempotency: the same id with the same body
 * answers the first order (as it is now), with another body 422.
 */
function place(
  { writer, merchant, now }: OperationContext,
  call: CallContext,
  body: PlaceOrderBody,
): Result<OperationValue> {
  const check = checkPlacement(body, call.principal, merchant, now.getTime());
  if (!check.ok) return check;
  const fingerprint = fingerprintOf(body);
  if (body.externalId !== undefined) {
    const known = writer.byExternalId(body.externalId);
    if (known) {
      if (known.fingerprint !== fingerprint) {
        return refused("IDEMPOTENCY_MISMATCH", "this externalId was placed with a different body");
      }
      const order = writer.order(known.orderId);
      return order ? { ok: true, value: { placed: order, created: false } } : notFound("order");
    }
  }
  const order = createOrder(body, check.customerId, merchant, newOrderId(merchant.id, now), now);
  writer.commitOrder(null, order, "ORDER_CREATED", call, now);
  if (body.externalId !== undefined) writer.rememberExternalId(body.externalId, order.id, fingerprint);
  return { ok: true, value: { placed: order, created: true } };
}

/** Runs one operation's handler (inside the writer's transaction). */
export function runOperation(ctx: OperationContext, call: CallContext, op: Operation): Result<OperationValue> {
  if (!ctx.merchant) return notFound("merchant");
  return (OPERATIONS[op.action] as Handler<OperationName>)(ctx, call, op.payload as never);
}
