/** `/api/orders`: placing, reading and the customer / driver / dispatch changes of an order. */
import { Hono } from "hono";
import {
  AssignDriverBodySchema,
  CancelBodySchema,
  merchantIdOfOrder,
  OrderIdSchema,
  PlaceOrderBodySchema,
} from "../../schema/index.ts";
import { z } from "zod";
import { OPERATORS, requireMerchant, requireRole } from "../auth.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import type { Operation } from "../rooms/merchant/operations.ts";
import {
  type AppContext,
  type AppEnv,
  authenticated,
  perform,
  readableOrder,
  restCall,
  roomOfOrder,
} from "./context.ts";

const orderParam = valid("param", z.object({ orderId: OrderIdSchema }));

/** A change of one order, run in the room of the merchant that owns it (its id says which). */
async function act(c: AppContext, orderId: string, op: Operation): Promise<Response> {
  const call = await restCall(c, merchantIdOfOrder(orderId));
  return respond(c, await perform(c.env, merchantIdOfOrder(orderId), call, op));
}

export const ordersRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .post("/", limitBody, valid("json", PlaceOrderBodySchema), async (c) => {
    requireRole(c.get("caller"), "customer", "platform");
    const body = c.req.valid("json");
    const call = await restCall(c, body.merchantId);
    const result = await perform(c.env, body.merchantId, call, { action: "PLACE_ORDER", payload: body });
    if (!result.ok || !("placed" in result.value)) return respond(c, result);
    // A platform's repeated externalId answers its first order with 200: nothing new was made.
    return c.json(result.value.placed, result.value.created ? 201 : 200);
  })
  .get("/:orderId", orderParam, async (c) => {
    const caller = c.get("caller");
    return c.json(await readableOrder(c.env, caller, c.req.valid("param").orderId));
  })
  .get("/:orderId/events", orderParam, async (c) => {
    const caller = c.get("caller");
    const { orderId } = c.req.valid("param");
    const order = await readableOrder(c.env, caller, orderId);
    requireMerchant(caller, order.merchantId, true);
    const room = roomOfOrder(c.env, orderId);
    // The room's log is the trail, kept AUDIT_RETENTION (30 days) beyond the order's last change.
    const events = await room.auditTrail(orderId);
    if (!events) throw new ApiError("NOT_FOUND", "this order's audit trail is older than its 30-day retention");
    return c.json({ events });
  })
  .post("/:orderId/cancel", orderParam, limitBody, valid("json", CancelBodySchema), (c) => {
    requireRole(c.get("caller"), "customer", ...OPERATORS);
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "CANCEL_ORDER", payload: { orderId, reason: c.req.valid("json").reason } });
  })
  .post("/:orderId/driver", orderParam, limitBody, valid("json", AssignDriverBodySchema), (c) => {
    requireRole(c.get("caller"), ...OPERATORS);
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "ASSIGN_DRIVER", payload: { orderId, ...c.req.valid("json") } });
  })
  .post("/:orderId/arrived", orderParam, (c) => {
    requireRole(c.get("caller"), "driver", "platform");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "DRIVER_ARRIVED", payload: { orderId } });
  })
  .post("/:orderId/pickup", orderParam, (c) => {
    requireRole(c.get("caller"), "driver", "platform");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "PICK_UP", payload: { orderId } });
  })
  .post("/:orderId/deliver", orderParam, (c) => {
    requireRole(c.get("caller"), "driver", "platform");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "DELIVER", payload: { orderId } });
  });
