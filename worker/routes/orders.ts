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
import { authenticated, merchantRoom, readableOrder, restCall, roomOfOrder, type AppEnv } from "./context.ts";
import { auditTrailFromHistory } from "../db/projection.ts";

const orderParam = valid("param", z.object({ orderId: OrderIdSchema }));

export const ordersRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .post("/", limitBody, valid("json", PlaceOrderBodySchema), async (c) => {
    requireRole(c.get("caller"), "customer");
    const body = c.req.valid("json");
    const call = await restCall(c, body.merchantId);
    return respond(c, await merchantRoom(c.env, body.merchantId).placeOrder(call, body), 201);
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
  .post("/:orderId/cancel", orderParam, limitBody, valid("json", CancelBodySchema), async (c) => {
    requireRole(c.get("caller"), "customer", "dispatch");
    const { orderId } = c.req.valid("param");
    const call = await restCall(c, merchantIdOfOrder(orderId));
    return respond(c, await roomOfOrder(c.env, orderId).cancelOrder(call, orderId, c.req.valid("json").reason));
  })
  .post("/:orderId/driver", orderParam, limitBody, valid("json", AssignDriverBodySchema), async (c) => {
    requireRole(c.get("caller"), "dispatch");
    const { orderId } = c.req.valid("param");
    const call = await restCall(c, merchantIdOfOrder(orderId));
    return respond(c, await roomOfOrder(c.env, orderId).assignDriver(call, orderId, c.req.valid("json")));
  })
  .post("/:orderId/arrived", orderParam, async (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    const call = await restCall(c, merchantIdOfOrder(orderId));
    return respond(c, await roomOfOrder(c.env, orderId).driverArrived(call, orderId));
  })
  .post("/:orderId/pickup", orderParam, async (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    const call = await restCall(c, merchantIdOfOrder(orderId));
    return respond(c, await roomOfOrder(c.env, orderId).pickUpOrder(call, orderId));
  })
  .post("/:orderId/deliver", orderParam, async (c) => {
    requireRole(c.get("caller"), "driver");
    const { orderId } = c.req.valid("param");
    const call = await restCall(c, merchantIdOfOrder(orderId));
    return respond(c, await roomOfOrder(c.env, orderId).deliverOrder(call, orderId));
  });
