/**
 * A paired kitchen screen's credentials (CONTRACT.md Additions v2, "Actors and sign-in").
 *
 * - The access token is a `merchant` token (HS256, AUTH_SECRET) with `sub` = the device id and the
 *   claim `device: true`. Only tokens with that claim pay for the revocation check against the
 *   merchant's room (auth.ts); staff and operator tokens never do.
 * - The refresh token is `rt1.<merchantId>.<deviceId>.<secret>`: it names the room that holds the
 *   device, so a refresh needs no lookup, and the room keeps only the secret's SHA-256.
 */
import { sign } from "hono/jwt";
import type { TokenClaims } from "../../schema/index.ts";

/** Default lifetime of a device's access token; the screen renews it well before then. */
export const DEFAULT_DEVICE_TOKEN_TTL_SECONDS = 15 * 60;
/** A refresh token unused for this long is dead: a screen off for a month pairs again. */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** DEVICE_TOKEN_TTL_SECONDS (10 s .. 24 h), else the default. */
export function deviceTokenTtlSeconds(env: Env): number {
  const ttl = Number(env.DEVICE_TOKEN_TTL_SECONDS);
  return Number.isInteger(ttl) && ttl >= 10 && ttl <= 86_400 ? ttl : DEFAULT_DEVICE_TOKEN_TTL_SECONDS;
}

export async function issueDeviceToken(
  device: { id: string; merchantId: string },
  secret: string,
  ttlSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: TokenClaims & { iat: number } = {
    role: "merchant",
    sub: device.id,
    merchantId: device.merchantId,
    device: true,
    iat: now,
    exp: now + ttlSeconds,
  };
  return sign(claims, secret, "HS256");
}

const REFRESH_PREFIX = "rt1";
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface RefreshToken {
  merchantId: string;
  deviceId: string;
  secret: string;
}

/** A new refresh token for the device (32 random bytes). */
export function newRefreshToken(merchantId: string, deviceId: string): { token: string; secret: string } {
  return refreshTokenOf(merchantId, deviceId, base64url(crypto.getRandomValues(new Uint8Array(32))));
}

/**
 * The refresh token that replaces `presented` when the request carries an Idempotency-Key:
 * HMAC-SHA256(presented secret, key). The same request repeated (its answer was lost) gets the same
 * token back, though no secret is stored; without the presented secret nobody can compute it.
 */
export async function nextRefreshToken(presented: RefreshToken, idempotencyKey: string | undefined) {
  if (idempotencyKey === undefined) return newRefreshToken(presented.merchantId, presented.deviceId);
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(presented.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`refresh:${idempotencyKey}`));
  return refreshTokenOf(presented.merchantId, presented.deviceId, base64url(new Uint8Array(mac)));
}

function refreshTokenOf(merchantId: string, deviceId: string, secret: string) {
  return { token: `${REFRESH_PREFIX}.${merchantId}.${deviceId}.${secret}`, secret };
}

/** The parts of a refresh token, or null if it is not one this API issued. */
export function parseRefreshToken(token: string): RefreshToken | null {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== REFRESH_PREFIX) return null;
  const [, merchantId, deviceId, secret] = parts as [string, string, string, string];
  if (!ID.test(merchantId) || !ID.test(deviceId) || !SECRET.test(secret)) return null;
  return { merchantId, deviceId, secret };
}

/** A new device id: `dev-` and 20 random characters. */
export function newDeviceId(): string {
  return `dev-${base64url(crypto.getRandomValues(new Uint8Array(15)))}`;
}

/** SHA-256 of a secret, hex: what is stored instead of the secret. */
export async function sha256Hex(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
