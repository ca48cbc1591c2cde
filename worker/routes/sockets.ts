/**
 * WebSocket upgrades. Authenticated and authorised here, before any room is woken for the
 * socket; a refusal is a plain HTTP error. No header-changing middleware may run on these
 * routes: a 101 response's headers are immutable.
 */
import { Hono } from "hono";
import { IdSchema, OrderIdSchema } from "../../schema/index.ts";
import { authenticate, requireMerchant } from "../auth.ts";
import { ApiError } from "../http.ts";
import { IDENTITY_HEADER, type SocketIdentity } from "../rooms/live-room.ts";
import { merchantRoom, orderRoom, readableOrder, type AppContext, type AppEnv } from "./context.ts";

/** Origin check: browsers send Origin; only ALLOWED_ORIGINS (default: our own origin) may connect. */
function checkOrigin(c: AppContext): void {
  const origin = c.req.header("Origin");
  if (origin === undefined) return; // not a browser: the token is the whole story
  const allowed = (c.env.ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  const own = new URL(c.req.url).origin;
  if (origin === own || allowed.includes(origin) || allowed.includes("*")) return;
  throw new ApiError("FORBIDDEN", "origin not allowed");
}

function expectUpgrade(c: AppContext): void {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
    throw new ApiError("BAD_REQUEST", "expected a WebSocket upgrade");
}

/** Forwards the upgrade with the verified identity (any client-sent copy is overwritten). */
function forward(c: AppContext, identity: SocketIdentity): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  return new Request(c.req.url, { headers });
}

export const socketRoutes = new Hono<AppEnv>()
  .get("/merchant/:merchantId/orders", async (c) => {
    checkOrigin(c);
    const caller = await authenticate(c, true);
    const merchantId = IdSchema.safeParse(c.req.param("merchantId"));
    if (!merchantId.success) throw new ApiError("NOT_FOUND", "no such merchant");
    requireMerchant(caller, merchantId.data, true);
    expectUpgrade(c);
    const identity: SocketIdentity = {
      role: caller.role,
      sub: caller.id,
      ...(caller.merchantId ? { merchantId: caller.merchantId } : {}),
      ...(caller.device ? { device: true as const } : {}),
    };
    return merchantRoom(c.env, merchantId.data).fetch(forward(c, identity));
  })
  .get("/order/:orderId", async (c) => {
    checkOrigin(c);
    const caller = await authenticate(c, true);
    // A paired screen uses its merchant's stream. Its sockets must close the moment it is revoked,
    // and only the merchant room knows them: order rooms it would have to be tracked across.
    if (caller.device) throw new ApiError("FORBIDDEN", "a paired kitchen screen follows its merchant's stream");
    const orderId = OrderIdSchema.safeParse(c.req.param("orderId"));
    if (!orderId.success) throw new ApiError("NOT_FOUND", "no such order");
    await readableOrder(c.env, caller, orderId.data);
    expectUpgrade(c);
    const identity: SocketIdentity = {
      role: caller.role,
      sub: caller.id,
      ...(caller.merchantId ? { merchantId: caller.merchantId } : {}),
    };
    return orderRoom(c.env, orderId.data).fetch(forward(c, identity));
  });
