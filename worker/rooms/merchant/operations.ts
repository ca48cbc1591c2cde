/**
 * Every operation on a merchant's orders, by name: REST routes and socket frames both build an
 * Operation and the room runs it through this one table, so an action and its REST twin are the
 * same operation (same checks, same events, same idempotency fingerprint). The merchant's socket
 * actions keep their contract names; the rest are named for what they do.
 */
import type {
  AssignDriverBody,
  BulkItemResult,
  MerchantAction,
  Merchant,
  Order,
  PlaceOrderBody,
} from "../../../schema/index.ts";
import { type Change, createOrder } from "../../domain/changes.ts";
import { newOrderId } from "./order-ids.ts";
import { type CallContext, notFound, type Result, refused, type Writer } from "./writer.ts";

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
  | { action: "EXPIRE"; payload: { orderId: string } };

export type OperationName = Operation["action"];
export type OperationValue = Order | { results: BulkItemResult[] };

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

export const OPERATIONS: { [A in OperationName]: Handler<A> } = {
  PLACE_ORDER: ({ writer, merchant, now }, call, body) => {
    if (call.principal.role !== "customer") return refused("FORBIDDEN", "only customers place orders");
    const { order, event } = createOrder(body, call.principal.id, merchant, newOrderId(merchant.id, now), now);
    writer.commitOrder(null, order, event, call, now);
    return { ok: true, value: order };
  },
  MERCHANT_ACCEPT: change((p) => ({ kind: "ACCEPT", ...withPrep(p.prepMinutes) })),
  MERCHANT_REJECT: change((p) => ({ kind: "REJECT", reason: p.reason })),
  MERCHANT_MARK_PREPARING: change(() => ({ kind: "MARK_PREPARING" })),
  MERCHANT_MARK_READY: change(() => ({ kind: "MARK_READY" })),
  MERCHANT_UPDATE_PREP_TIME: change((p) => ({ kind: "UPDATE_PREP_TIME", prepMinutes: p.prepMinutes })),
  BULK_ACCEPT: bulk((p) => ({ kind: "ACCEPT", ...withPrep(p.prepMinutes) })),
  BULK_MARK_READY: bulk(() => ({ kind: "MARK_READY" })),
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
};

/** Runs one operation's handler (inside the writer's transaction). */
export function runOperation(ctx: OperationContext, call: CallContext, op: Operation): Result<OperationValue> {
  if (!ctx.merchant) return notFound("merchant");
  return (OPERATIONS[op.action] as Handler<OperationName>)(ctx, call, op.payload as never);
}
