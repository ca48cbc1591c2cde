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
import { authenticated, merchantRoom, restCall, type AppContext, type AppEnv } from "./context.ts";

const merchantParam = valid("param", z.object({ merchantId: IdSchema }));
const orderParam = valid("param", z.object({ merchantId: IdSchema, orderId: OrderIdSchema }));

/** Every merchant action: the caller must be staff of exactly this store. */
function merchantCall(c: AppContext, merchantId: string) {
  requireMerchant(c.get("caller"), merchantId);
  return restCall(c, merchantId);
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
    const call = await merchantCall(c, merchantId);
    const body = c.req.valid("json");
    const room = merchantRoom(c.env, merchantId);
    const result =
      body.action === "accept"
        ? await room.bulkAccept(call, body.orderIds, body.prepMinutes)
        : await room.bulkMarkReady(call, body.orderIds);
    return respond(c, result);
  })
  .post("/:merchantId/orders/:orderId/accept", orderParam, limitBody, valid("json", AcceptBodySchema), async (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const call = await merchantCall(c, merchantId);
    return respond(
      c,
      await merchantRoom(c.env, merchantId).acceptOrder(call, orderId, c.req.valid("json").prepMinutes),
    );
  })
  .post("/:merchantId/orders/:orderId/reject", orderParam, limitBody, valid("json", RejectBodySchema), async (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const call = await merchantCall(c, merchantId);
    return respond(c, await merchantRoom(c.env, merchantId).rejectOrder(call, orderId, c.req.valid("json").reason));
  })
  .post("/:merchantId/orders/:orderId/preparing", orderParam, async (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const call = await merchantCall(c, merchantId);
    return respond(c, await merchantRoom(c.env, merchantId).markPreparing(call, orderId));
  })
  .post("/:merchantId/orders/:orderId/ready", orderParam, async (c) => {
    const { merchantId, orderId } = c.req.valid("param");
    const call = await merchantCall(c, merchantId);
    return respond(c, await merchantRoom(c.env, merchantId).markReady(call, orderId));
  })
  .post(
    "/:merchantId/orders/:orderId/prep-time",
    orderParam,
    limitBody,
    valid("json", PrepTimeBodySchema),
    async (c) => {
      const { merchantId, orderId } = c.req.valid("param");
      const call = await merchantCall(c, merchantId);
      return respond(
        c,
        await merchantRoom(c.env, merchantId).updatePrepTime(call, orderId, c.req.valid("json").prepMinutes),
      );
    },
  );
