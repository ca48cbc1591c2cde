/**
 * `/api/merchants/:merchantId`: the merchant's settings (dispatch, a platform), its live state —
 * availability and sold-out items (the kitchen, dispatch, a platform) — and the operators' view.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  IdSchema,
  SetAvailabilityBodySchema,
  SetSoldOutBodySchema,
  UpsertMerchantBodySchema,
} from "../../schema/index.ts";
import { OPERATORS, requireMerchant, requireRole } from "../auth.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import { type AppEnv, authenticated, merchantRoom, perform, restCall } from "./context.ts";

const merchantParam = valid("param", z.object({ merchantId: IdSchema }));

export const merchantsRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .put("/:merchantId", merchantParam, limitBody, valid("json", UpsertMerchantBodySchema), async (c) => {
    requireRole(c.get("caller"), ...OPERATORS);
    const { merchantId } = c.req.valid("param");
    const body = c.req.valid("json");
    // Set up with a location hint, the merchant's room is created near its kitchen, not wherever
    // this request happened to land.
    const room = merchantRoom(c.env, merchantId, body.locationHint);
    const result = await room.upsertMerchant(await restCall(c, merchantId), merchantId, body);
    return result.ok ? c.json(result.value.merchant, result.value.created ? 201 : 200) : respond(c, result);
  })
  .get("/:merchantId", merchantParam, async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const merchant = await merchantRoom(c.env, merchantId).getMerchant();
    if (!merchant) throw new ApiError("NOT_FOUND", "merchant not found");
    return c.json(merchant);
  })
  .put("/:merchantId/availability", merchantParam, limitBody, valid("json", SetAvailabilityBodySchema), async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const call = await restCall(c, merchantId);
    const op = { action: "MERCHANT_SET_AVAILABILITY", payload: c.req.valid("json") } as const;
    return respond(c, await perform(c.env, merchantId, call, op));
  })
  .get("/:merchantId/sold-out", merchantParam, async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const merchant = await merchantRoom(c.env, merchantId).getMerchant();
    if (!merchant) throw new ApiError("NOT_FOUND", "merchant not found");
    return c.json({ items: merchant.soldOut ?? [] });
  })
  .put("/:merchantId/sold-out", merchantParam, limitBody, valid("json", SetSoldOutBodySchema), async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const call = await restCall(c, merchantId);
    const op = { action: "MERCHANT_SET_SOLD_OUT", payload: c.req.valid("json") } as const;
    return respond(c, await perform(c.env, merchantId, call, op));
  })
  .get("/:merchantId/ops", merchantParam, async (c) => {
    requireRole(c.get("caller"), ...OPERATORS);
    const { merchantId } = c.req.valid("param");
    const room = merchantRoom(c.env, merchantId);
    if (!(await room.getMerchant())) throw new ApiError("NOT_FOUND", "merchant not found");
    return c.json(await room.ops());
  });
