/** `/api/merchants/:merchantId/orders`: the board and history, and every merchant action on an order. */
import { Hono } from "hono";
import { z } from "zod";
import {
  AcceptBodySchema,
  AdjustItemsBodySchema,
  BulkBodySchema,
  IdSchema,
  ItemDoneBodySchema,
  ListOrdersQuerySchema,
  OrderIdSchema,
  PrepTimeBodySchema,
  RejectBodySchema,
} from "../../schema/index.ts";
import { requireMerchant } from "../auth.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import type { Operation } from "../rooms/merchant/operations.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { type AppContext, type AppEnv, authenticated, merchantRoom, perform, restCall } from "./context.ts";

const merchantParam = valid("param", z.object({ merchantId: IdSchema }));
const orderParam = valid("param", z.object({ merchantId: IdSchema, orderId: OrderIdSchema }));
const itemParam = valid(
  "param",
  z.object({ merchantId: IdSchema, orderId: OrderIdSchema, index: z.coerce.number().int().min(0).max(99) }),
);

/** A merchant action over REST: staff of exactly this store, the same operation as the socket action of that name. */
async function act(c: AppContext, merchantId: string, op: Operation): Promise<Response> {
  requireMerchant(c.get("caller"), merchantId);
  const call = await restCall(c, merchantId);
  return respond(c, await perform(c.env, merchantId, call, op));
}

export const merchantOrdersRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .get("/:merchantId/orders", merchantParam, valid("query", ListOrdersQuerySchema), async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const query = c.req.valid("query");
    const room = merchantRoom(c.env, merchantId);
    const board = await room.board();
    if (!board) throw new ApiError("NOT_FOUND", "merchant not found");
    if (query.status === "active") {
      // The live board comes from the room itself: exactly consistent with `seq`. The cursor is
      // the last (placedAt, id) seen, not an offset: orders leave the board between two pages,
      // and an offset would then skip the ones that moved up.
      const after = query.cursor ? decodeCursor(query.cursor) : null;
      const rest = after
        ? board.orders.filter((o) => o.placedAt > after.placedAt || (o.placedAt === after.placedAt && o.id > after.id))
        : board.orders;
      const page = rest.slice(0, query.limit);
      const last = page[page.length - 1];
      return c.json({
        orders: page,
        seq: board.seq,
        ...(rest.length > query.limit && last
          ? { nextCursor: encodeCursor({ placedAt: last.placedAt, id: last.id }) }
          : {}),
      });
    }
    // History comes from the room too: it keeps every order whole (D1 keeps lean rows only).
    const history = await room.history(query.limit, query.cursor ? decodeCursor(query.cursor) : null);
    if (!history) throw new ApiError("NOT_FOUND", "merchant not found");
    return c.json({
      orders: history.orders,
      seq: history.seq,
      ...(history.next ? { nextCursor: encodeCursor(history.next) } : {}),
    });
  })
  .get("/:merchantId/orders/by-external-id/:externalId", async (c) => {
    const merchantId = IdSchema.safeParse(c.req.param("merchantId"));
    const externalId = z.string().min(1).max(128).safeParse(c.req.param("externalId"));
    if (!merchantId.success || !externalId.success) throw new ApiError("NOT_FOUND", "order not found");
    requireMerchant(c.get("caller"), merchantId.data, true);
    const order = await merchantRoom(c.env, merchantId.data).orderByExternalId(externalId.data);
    if (!order) throw new ApiError("NOT_FOUND", "order not found");
    return c.json(order);
  })
  .post("/:merchantId/orders/bulk", merchantParam, limitBody, valid("json", BulkBodySchema), async (c) => {
    const { merchantId } = c.req.valid("param");
    const { action, orderIds, prepMinutes } = c.req.valid("json");
    return act(
      c,
      merchantId,
      action === "accept"
        ? { action: "BULK_ACCEPT", payload: { orderIds, ...(prepMinutes !== undefined ? { prepMinutes } : {}) } }
        : { action: "BULK_MARK_READY", payload: { orderIds } },
    );
  })
  .post("/:merchantId/orders/:orderId/accept", orderParam, limitBody, valid("json", AcceptBodySchema), (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const { prepMinutes } = c.req.valid("json");
    return act(c, merchantId, {
      action: "MERCHANT_ACCEPT",
      payload: { orderId, ...(prepMinutes !== undefined ? { prepMinutes } : {}) },
    });
  })
  .post("/:merchantId/orders/:orderId/reject", orderParam, limitBody, valid("json", RejectBodySchema), (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    return act(c, merchantId, { action: "MERCHANT_REJECT", payload: { orderId, reason: c.req.valid("json").reason } });
  })
  .post("/:merchantId/orders/:orderId/preparing", orderParam, (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    return act(c, merchantId, { action: "MERCHANT_MARK_PREPARING", payload: { orderId } });
  })
  .post("/:merchantId/orders/:orderId/ready", orderParam, (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    return act(c, merchantId, { action: "MERCHANT_MARK_READY", payload: { orderId } });
  })
  .post("/:merchantId/orders/:orderId/prep-time", orderParam, limitBody, valid("json", PrepTimeBodySchema), (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const { prepMinutes } = c.req.valid("json");
    return act(c, merchantId, { action: "MERCHANT_UPDATE_PREP_TIME", payload: { orderId, prepMinutes } });
  })
  .post("/:merchantId/orders/:orderId/adjust", orderParam, limitBody, valid("json", AdjustItemsBodySchema), (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    return act(c, merchantId, { action: "MERCHANT_ADJUST_ITEMS", payload: { orderId, ...c.req.valid("json") } });
  })
  .post(
    "/:merchantId/orders/:orderId/items/:index/done",
    itemParam,
    limitBody,
    valid("json", ItemDoneBodySchema),
    (c) => {
      const { merchantId, orderId, index } = c.req.valid("param");
      const { done } = c.req.valid("json");
      return act(c, merchantId, { action: "MERCHANT_ITEM_DONE", payload: { orderId, index, done } });
    },
  )
  .post("/:merchantId/orders/:orderId/recall", orderParam, (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    return act(c, merchantId, { action: "MERCHANT_RECALL", payload: { orderId } });
  });
