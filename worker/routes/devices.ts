/**
 * Kitchen screens pair with a code (CONTRACT.md Additions v2, "Actors and sign-in"):
 * - `deviceRoutes` (under /api/merchants): pairing codes, the device list, revocation;
 * - `pairingRoutes` (under /api): pair with a code, renew a device's tokens (rotation: the old
 *   refresh token is spent; with an Idempotency-Key, the same request repeated within a minute
 *   gets the same refresh token again — its answer was lost — see rooms/merchant/devices.ts).
 * Codes live in the PairingCodes singleton (rooms/pairing-codes.ts); devices in their
 * merchant's room (rooms/merchant/devices.ts). The Worker mints the tokens and hashes secrets.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  type DeviceEntry,
  IdempotencyKeySchema,
  IdSchema,
  PairBodySchema,
  type PairResponseSchema,
  RefreshBodySchema,
  type RefreshResponseSchema,
} from "../../schema/index.ts";
import { authSecret, OPERATORS, requireMerchant, requireRole } from "../auth.ts";
import {
  deviceTokenTtlSeconds,
  issueDeviceToken,
  newDeviceId,
  newRefreshToken,
  nextRefreshToken,
  parseRefreshToken,
  sha256Hex,
} from "../auth/device-credentials.ts";
import { ApiError, errorJson, limitBody, valid } from "../http.ts";
import { clientKey } from "../rooms/pairing-codes.ts";
import { type AppEnv, authenticated, merchantRoom } from "./context.ts";

const merchantParam = valid("param", z.object({ merchantId: IdSchema }));
const deviceParam = valid("param", z.object({ merchantId: IdSchema, deviceId: IdSchema }));

function pairingCodes(env: Env) {
  return env.PAIRING_CODES.get(env.PAIRING_CODES.idFromName("global"));
}

async function requireMerchantExists(env: Env, merchantId: string): Promise<void> {
  if (!(await merchantRoom(env, merchantId).getMerchant())) throw new ApiError("NOT_FOUND", "merchant not found");
}

/** Why a refresh was refused, for the screen to show (`details.reason` names it too). */
const REFUSED_REFRESH = {
  unknown: "refresh token not accepted: pair this screen again",
  expired: "this screen was away too long: pair it again",
  revoked: "this screen was removed from the kitchen: pair it again",
  reused: "this refresh token was already used, so the screen was removed: pair it again",
} as const;

export const deviceRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .post("/:merchantId/pairing-codes", merchantParam, async (c) => {
    requireRole(c.get("caller"), ...OPERATORS);
    const { merchantId } = c.req.valid("param");
    await requireMerchantExists(c.env, merchantId);
    const created = await pairingCodes(c.env).create(merchantId);
    if (!created.ok) throw new ApiError(created.code, created.message);
    return c.json({ code: created.code, expiresAt: created.expiresAt }, 201);
  })
  .get("/:merchantId/devices", merchantParam, async (c) => {
    const { merchantId } = c.req.valid("param");
    requireMerchant(c.get("caller"), merchantId, true);
    const devices = await merchantRoom(c.env, merchantId).listDevices();
    if (!devices) throw new ApiError("NOT_FOUND", "merchant not found");
    return c.json({ devices });
  })
  .delete("/:merchantId/devices/:deviceId", deviceParam, async (c) => {
    requireRole(c.get("caller"), ...OPERATORS);
    const { merchantId, deviceId } = c.req.valid("param");
    const device: DeviceEntry | null = await merchantRoom(c.env, merchantId).revokeDevice(deviceId);
    if (!device) throw new ApiError("NOT_FOUND", "no such device at this merchant");
    return c.json({ device });
  });

export const pairingRoutes = new Hono<AppEnv>()
  .post("/pair", limitBody, valid("json", PairBodySchema), async (c) => {
    const secret = authSecret(c.env);
    const { code, deviceName } = c.req.valid("json");
    const redeemed = await pairingCodes(c.env).redeem(code, clientKey(c.req.header("cf-connecting-ip")));
    if (!redeemed.ok) {
      const res = errorJson({ code: redeemed.code, message: redeemed.message });
      if (redeemed.code === "RATE_LIMITED") res.headers.set("Retry-After", String(redeemed.retryAfterSeconds));
      return res;
    }
    const { merchantId } = redeemed;
    const id = newDeviceId();
    const refresh = newRefreshToken(merchantId, id);
    const device = await merchantRoom(c.env, merchantId).addDevice({
      id,
      name: deviceName,
      refreshHash: await sha256Hex(refresh.secret),
    });
    // The code was for a merchant that has since gone: nothing to pair with.
    if (!device) throw new ApiError("UNAUTHORIZED", "this pairing code is wrong, used or expired");
    const token = await issueDeviceToken({ id, merchantId }, secret, deviceTokenTtlSeconds(c.env));
    return c.json({
      token,
      refreshToken: refresh.token,
      device: { id, merchantId, name: device.name },
    } satisfies z.infer<typeof PairResponseSchema>);
  })
  .post("/devices/refresh", limitBody, valid("json", RefreshBodySchema), async (c) => {
    const secret = authSecret(c.env);
    const presented = parseRefreshToken(c.req.valid("json").refreshToken);
    if (!presented) throw new ApiError("UNAUTHORIZED", "not a refresh token");
    const { merchantId, deviceId } = presented;
    const key = c.req.header("Idempotency-Key");
    const validKey = key === undefined ? undefined : IdempotencyKeySchema.safeParse(key);
    if (validKey && !validKey.success) throw new ApiError("BAD_REQUEST", "Idempotency-Key must be 1..255 characters");
    const next = await nextRefreshToken(presented, validKey?.data);
    const [presentedHash, nextHash] = await Promise.all([sha256Hex(presented.secret), sha256Hex(next.secret)]);
    const outcome = await merchantRoom(c.env, merchantId).rotateDeviceRefresh(deviceId, presentedHash, nextHash);
    if (!outcome.ok) throw new ApiError("UNAUTHORIZED", REFUSED_REFRESH[outcome.reason], { reason: outcome.reason });
    const token = await issueDeviceToken({ id: deviceId, merchantId }, secret, deviceTokenTtlSeconds(c.env));
    return c.json({ token, refreshToken: next.token } satisfies z.infer<typeof RefreshResponseSchema>);
  });
