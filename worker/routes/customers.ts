/**
 * `/api/customers/:customerId/orders` (an addition): a customer's orders across every merchant —
 * the query D1 is for. History is sharded by merchant, so this reads every shard and merges,
 * newest first, keyset-paginated by (placedAt, id).
 */
import { Hono } from "hono";
import { z } from "zod";
import { CustomerOrdersQuerySchema, IdSchema, type OrderSummary } from "../../schema/index.ts";
import { type Caller, isOperator } from "../auth.ts";
import { customerOrdersIn } from "../db/projection.ts";
import { historyShards } from "../db/shards.ts";
import { ApiError, valid } from "../http.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { type AppEnv, authenticated } from "./context.ts";
import { drizzle } from "drizzle-orm/d1";

function mayRead(caller: Caller, customerId: string): boolean {
  return isOperator(caller) || (caller.role === "customer" && caller.id === customerId);
}

export const customersRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .get(
    "/:customerId/orders",
    valid("param", z.object({ customerId: IdSchema })),
    valid("query", CustomerOrdersQuerySchema),
    async (c) => {
      const { customerId } = c.req.valid("param");
      if (!mayRead(c.get("caller"), customerId)) throw new ApiError("FORBIDDEN", "these are not your orders");
      const { limit, cursor } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor) : null;
      const pages = await Promise.all(
        historyShards(c.env).map((db) => customerOrdersIn(drizzle(db), customerId, limit + 1, after)),
      );
      const merged = pages
        .flat()
        .sort((a, b) => compareNewestFirst(a, b))
        .slice(0, limit + 1);
      const page = merged.slice(0, limit);
      const last = page[page.length - 1];
      return c.json({
        orders: page,
        ...(merged.length > limit && last
          ? { nextCursor: encodeCursor({ placedAt: last.placedAt, id: last.id }) }
          : {}),
      });
    },
  );

function compareNewestFirst(a: OrderSummary, b: OrderSummary): number {
  if (a.placedAt !== b.placedAt) return a.placedAt < b.placedAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
