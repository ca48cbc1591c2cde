/** `/api/orders`: placing, reading and the customer / driver / dispatch changes of an order. */
import { Hono } from "hono";
import { drizzle } from "drizzle-orm/d1";
import {
  AssignDriverBodySchema,
  CancelBodySchema,
  merchantIdOfOrder,
  OrderIdSchema,
  PlaceOrderBodySchema,
} from "../../schema/index.ts";
import { z } from "zod";
import { requireMerchant, requireRole } from "../auth.ts";
import { limitBody, respond, valid } from "../http.ts";
import type { Operation } from "../rooms/merchant/operations.ts";
import {
  type AppContext,
  type AppEnv,
  authenticated,
  merchantRoom,
  readableOrder,
  restCall,
  roomOfOrder,
} from "./context.ts";
import { auditTrailFromHistory } from "../db/projection.ts";

const orderParam = valid("param", z.object({ orderId: OrderIdSchema }));

/** A change of one order, run in the room of the merchant that owns it (its id says which). */
async function act(c: AppContext, orderId: string, op: Operation): Promise<Response> {
  const call = await restCall(c, merchantIdOfOrder(orderId));
  return respond(c, await roomOfOrder(c.env, orderId).perform(call, op));
}

export const ordersRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .post("/", limitBody, valid("json", PlaceOrderBodySchema), async (c) => {
    requireRole(c.get("caller"), "customer");
    const body = c.req.valid("json");
    const call = await restCall(c, body.merchantId);
    return respond(
      c,
      await merchantRoom(c.env, body.merchantId).perform(call, { action: "PLACE_ORDER", payload: body }),
      201,
    );
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
    // The room's log is authoritative and immediate; once pruned, D1 keeps the full trail.
    const events = (await room.auditTrail(orderId)) ?? (await auditTrailFromHistory(drizzle(c.env.DB), orderId));
    return c.json({ events });
  })
  .post("/:orderId/cancel", orderParam, limitBody, valid("json", CancelBodySchema), (c) => {
    requireRole(c.get("caller"), "customer", "dispatch");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "CANCEL_ORDER", payload: { orderId, reason: c.req.valid("json").reason } });
  })
  .post("/:orderId/driver", orderParam, limitBody, valid("json", AssignDriverBodySchema), (c) => {
    requireRole(c.get("caller"), "dispatch");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "ASSIGN_DRIVER", payload: { orderId, ...c.req.valid("json") } });
  })
  .post("/:orderId/arrived", orderParam, (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "DRIVER_ARRIVED", payload: { orderId } });
  })
  .post("/:orderId/pickup", orderParam, (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "PICK_UP", payload: { orderId } });
  })
  .post("/:orderId/deliver", orderParam, (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    return act(c, orderId, { action: "DELIVER", payload: { orderId } });
  });
