/** `/api/merchants`: settings (dispatch), the board and history, and every merchant action. */
import { Hono } from "hono";
import { z } from "zod";
import { drizzle } from "drizzle-orm/d1";
import {
  AcceptBodySchema,
  BulkBodySchema,
  IdSchema,
  ListOrdersQuerySchema,
  OrderIdSchema,
  PrepTimeBodySchema,
  RejectBodySchema,
  UpsertMerchantBodySchema,
} from "../../schema/index.ts";
import { requireMerchant, requireRole } from "../auth.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import { orderHistory } from "../db/projection.ts";
import type { Operation } from "../rooms/merchant/operations.ts";
import { authenticated, merchantRoom, restCall, type AppContext, type AppEnv } from "./context.ts";

const merchantParam = valid("param", z.object({ merchantId: IdSchema }));
const orderParam = valid("param", z.object({ merchantId: IdSchema, orderId: OrderIdSchema }));

/** Every merchant action: the caller must be staff of exactly this store. */
function merchantCall(c: AppContext, merchantId: string) {
  requireMerchant(c.get("caller"), merchantId);
  return restCall(c, merchantId);
}

/** A merchant action over REST: the same operation as the socket action of that name. */
async function act(c: AppContext, merchantId: string, op: Operation): Promise<Response> {
  const call = await merchantCall(c, merchantId);
  return respond(c, await merchantRoom(c.env, merchantId).perform(call, op));
}

function encodeCursor(cursor: { placedAt: string; id: string }): string {
  return btoa(JSON.stringify([cursor.placedAt, cursor.id]));
}

function decodeCursor(raw: string): { placedAt: string; id: string } {
  try {
    const parsed = z.tuple([z.string(), z.string()]).parse(JSON.parse(atob(raw)));
    return { placedAt: parsed[0], id: parsed[1] };
  } catch {
    throw new ApiError("BAD_REQUEST", "cursor is not one this API issued");
  }
}

export const merchantsRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .put("/:merchantId", merchantParam, limitBody, valid("json", UpsertMerchantBodySchema), async (c) => {
    requireRole(c.get("caller"), "dispatch");
    const { merchantId } = c.req.valid("param");
    const result = await merchantRoom(c.env, merchantId).upsertMerchant(
      await restCall(c, merchantId),
      merchantId,
      c.req.valid("json"),
    );
    return result.ok ? c.json(result.value.merchant, result.value.created ? 201 : 200) : respond(c, result);
  })
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
    // History comes from D1, which the room's outbox keeps up to date.
    const history = await orderHistory(
      drizzle(c.env.DB),
      merchantId,
      query.limit,
      query.cursor ? decodeCursor(query.cursor) : null,
    );
    return c.json({
      orders: history.orders,
      seq: board.seq,
      ...(history.next ? { nextCursor: encodeCursor(history.next) } : {}),
    });
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
  });
