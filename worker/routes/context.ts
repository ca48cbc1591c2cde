/** What every route needs: its env type, the rooms, and the caller's CallContext. */
import type { Context, MiddlewareHandler } from "hono";
import { IdempotencyKeySchema, merchantIdOfOrder, type Order } from "../../schema/index.ts";
import type { CallContext, Result } from "../rooms/merchant-order-room.ts";
import type { Operation, OperationValue } from "../rooms/merchant/operations.ts";
import { authenticate, type Caller, isOperator } from "../auth.ts";
import { ApiError } from "../http.ts";

export type AppEnv = { Bindings: Env; Variables: { caller: Caller } };
export type AppContext = Context<AppEnv>;

/**
 * A merchant's room. `locationHint` (the merchant's setting) places the room near its kitchen when
 * this call is what first creates it: the Worker passes it when a merchant is set up.
 */
export function merchantRoom(env: Env, merchantId: string, locationHint?: DurableObjectLocationHint) {
  const id = env.MERCHANT_ROOM.idFromName(merchantId);
  return locationHint ? env.MERCHANT_ROOM.get(id, { locationHint }) : env.MERCHANT_ROOM.get(id);
}

export function orderRoom(env: Env, orderId: string) {
  return env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId));
}

/**
 * Runs an operation in a merchant's room. The one cast of an RPC answer: workers-types' Rpc
 * mapping of `Result` (its error's `details` is `unknown`) collapses to never.
 */
export async function perform(
  env: Env,
  merchantId: string,
  call: CallContext,
  op: Operation,
): Promise<Result<OperationValue>> {
  const result = (await merchantRoom(env, merchantId).perform(call, op)) as Result<OperationValue>;
  if (!result.ok && result.error.code === "NOT_FOUND" && result.error.message === "merchant not found") {
    // The key was bound to a merchant that does not exist (restCall): unbind it.
    if (call.key !== undefined && call.principal.role !== "merchant") {
      await callerKeysOf(env, call.principal).release(call.key, merchantId);
    }
  }
  return result;
}

function callerKeysOf(env: Env, caller: { role: string; id: string }) {
  return env.CALLER_KEYS.get(env.CALLER_KEYS.idFromName(`${caller.role}:${caller.id}`));
}

/** The room that owns an order: its merchant's (the id says which). */
export function roomOfOrder(env: Env, orderId: string) {
  return merchantRoom(env, merchantIdOfOrder(orderId));
}

/**
 * Authenticates every request it guards, before any validation or room is touched. Once per
 * request: several routers mounted on one prefix each guard it, and a device's token costs a
 * check in its room.
 */
export const authenticated: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get("caller")) c.set("caller", await authenticate(c));
  await next();
};

/**
 * The caller plus how it called: REST, with its Idempotency-Key if any, for an operation in
 * `merchantId`'s room. Call it once the caller's role is checked. A key is remembered per caller;
 * staff keys all meet in their one merchant room, anyone else's key is first bound to the
 * merchant it is used at, so reusing it at another merchant is 422 (see CallerKeys).
 */
export async function restCall(c: AppContext, merchantId: string): Promise<CallContext> {
  const caller = c.get("caller");
  const rawKey = c.req.header("Idempotency-Key");
  if (rawKey === undefined) return { principal: caller, via: "rest" };
  const parsed = IdempotencyKeySchema.safeParse(rawKey);
  if (!parsed.success)
    throw new ApiError("BAD_REQUEST", "Idempotency-Key must be 1..255 characters", parsed.error.issues);
  const key = parsed.data;
  if (caller.role !== "merchant") {
    if (!(await callerKeysOf(c.env, caller).claim(key, merchantId))) {
      throw new ApiError("IDEMPOTENCY_MISMATCH", "this Idempotency-Key was used for a request to another merchant");
    }
  }
  return { principal: caller, via: "rest", key };
}

/** Reads an order for a caller who may see it: its customer, merchant, assigned driver, dispatch. */
export async function readableOrder(env: Env, caller: Caller, orderId: string): Promise<Order> {
  const order = await roomOfOrder(env, orderId).getOrder(orderId);
  if (!order) throw new ApiError("NOT_FOUND", "order not found");
  const allowed =
    isOperator(caller) ||
    (caller.role === "customer" && order.customerId === caller.id) ||
    (caller.role === "merchant" && order.merchantId === caller.merchantId) ||
    (caller.role === "driver" && order.driver?.id === caller.id);
  if (!allowed) throw new ApiError("FORBIDDEN", "this order is not yours");
  return order;
}
