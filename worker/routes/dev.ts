/**
 * Local development only: mint tokens, inject relay faults for `npm run chaos`, deliver deferred
 * relays and count rows written for `npm run bench`. Answers 404
 * unless DEV_MODE is set (only .dev.vars sets it), before anything else is looked at.
 */
import { Hono } from "hono";
import { DevDeliverBodySchema, DevFaultsBodySchema, DevTokenBodySchema } from "../../schema/index.ts";
import { authSecret, issueToken, requireRole } from "../auth.ts";
import { rowsWritten, writes } from "../rooms/rows-written.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import { authenticated, merchantRoom, type AppEnv } from "./context.ts";

export function devMode(env: Env): boolean {
  return env.DEV_MODE === "true";
}

export const devRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!devMode(c.env)) throw new ApiError("NOT_FOUND", "not found");
    await next();
  })
  .post("/token", limitBody, valid("json", DevTokenBodySchema), async (c) => {
    const { role, sub, merchantId } = c.req.valid("json");
    const token = await issueToken({ role, sub, ...(role === "merchant" ? { merchantId } : {}) }, authSecret(c.env));
    return c.json({ token });
  })
  // Makes one merchant room's relays to order rooms and/or D1 fail for a while (dispatch only).
  .post("/faults", authenticated, limitBody, valid("json", DevFaultsBodySchema), async (c) => {
    requireRole(c.get("caller"), "dispatch");
    const body = c.req.valid("json");
    return respond(c, await merchantRoom(c.env, body.merchantId).injectRelayFaults(body));
  })
  // Delivers what a merchant room holds back now, relays waiting for a quiet order included
  // (dispatch only): the bench starts each scenario without the previous one's deferred work.
  .post("/deliver", authenticated, limitBody, valid("json", DevDeliverBodySchema), async (c) => {
    requireRole(c.get("caller"), "dispatch");
    return respond(c, await merchantRoom(c.env, c.req.valid("json").merchantId).deliverForDev());
  })
  // Rows written so far in this isolate, per kind of storage, and how (the bench reads it before
  // and after a scenario; worker/rooms/rows-written.ts).
  .get("/rows-written", (c) => c.json({ rows: rowsWritten(), ...writes }));
