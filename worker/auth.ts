/**
 * Bearer tokens (CONTRACT.md "Actors and tokens", Additions v2 "Actors and sign-in"). Unsigned,
 * wrongly signed, expired or malformed → 401; the claims are checked against the contract's roles
 * with zod. The token's `alg` picks the path:
 * - HS256 with AUTH_SECRET: development, small deployments, and paired devices' tokens;
 * - RS256 / ES256 against the platform's JWKS (auth/platform-tokens.ts), when configured;
 * - anything else (`none`, HS512, …): 401.
 * A paired device's token is also checked against its merchant's room on every use, so a
 * revoked device is refused at once, not when its token expires.
 */
import type { Context } from "hono";
import { decode, sign, verify } from "hono/jwt";
import { TokenClaimsSchema, type Role, type TokenClaims } from "../schema/index.ts";
import type { Principal } from "./domain/changes.ts";
import { ApiError } from "./http.ts";
import { isPlatformAlgorithm, platformAuthConfig, verifyPlatformToken } from "./auth/platform-tokens.ts";

/** A verified caller. */
export interface Caller extends Principal {
  role: Role;
  /** A paired kitchen screen (`id` is the device id). */
  device?: true;
}

/** Fails closed: without AUTH_SECRET nothing is authenticated (a deploy that forgot the secret). */
export function authSecret(env: Env): string {
  const secret = env.AUTH_SECRET;
  if (typeof secret !== "string" || secret.length < 16) {
    throw new ApiError("INTERNAL", "server misconfigured: AUTH_SECRET is not set (wrangler secret put AUTH_SECRET)");
  }
  return secret;
}

export async function verifyToken(token: string, secret: string): Promise<Caller> {
  let payload: unknown;
  try {
    payload = await verify(token, secret, "HS256");
  } catch {
    throw new ApiError("UNAUTHORIZED", "invalid or expired token");
  }
  const claims = TokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw new ApiError("UNAUTHORIZED", "token claims are not valid", claims.error.issues);
  return callerOf(claims.data, true);
}

/** The caller a token's claims name; only our own (HS256) tokens can be a device's. */
function callerOf(claims: TokenClaims, ownToken: boolean): Caller {
  const { role, sub, merchantId } = claims;
  if (role !== "merchant") return { role, id: sub };
  return { role, id: sub, merchantId, ...(ownToken && claims.device === true ? { device: true as const } : {}) };
}

/** Verifies a bearer token by its algorithm (see the top of this file). */
export async function verifyBearer(token: string, env: Env): Promise<Caller> {
  let header: { alg?: unknown; kid?: unknown; typ?: unknown };
  try {
    header = decode(token).header as typeof header;
  } catch {
    throw new ApiError("UNAUTHORIZED", "invalid or expired token");
  }
  if (header.alg === "HS256") return verifyToken(token, authSecret(env));
  if (isPlatformAlgorithm(header.alg)) {
    const config = platformAuthConfig(env);
    if (!config) throw new ApiError("UNAUTHORIZED", "this server accepts no identity provider's tokens");
    return callerOf(await verifyPlatformToken(token, header, config), false);
  }
  throw new ApiError("UNAUTHORIZED", "invalid or expired token");
}

/** A device's token works only while its merchant's room still lists the device as paired. */
async function checkDevice(env: Env, caller: Caller): Promise<void> {
  if (!caller.device || !caller.merchantId) return;
  const room = env.MERCHANT_ROOM.get(env.MERCHANT_ROOM.idFromName(caller.merchantId));
  if (!(await room.deviceActive(caller.id))) throw new ApiError("UNAUTHORIZED", "this device was revoked");
}

export async function issueToken(
  claims: Omit<TokenClaims, "exp">,
  secret: string,
  ttlSeconds = 12 * 60 * 60,
): Promise<string> {
  return sign({ ...claims, exp: Math.floor(Date.now() / 1000) + ttlSeconds }, secret, "HS256");
}

/** The caller of a request: `Authorization: Bearer`, or `?token=` on socket upgrades only. */
export async function authenticate(
  c: Pick<Context<{ Bindings: Env }>, "req" | "env">,
  allowQueryToken = false,
): Promise<Caller> {
  // Fails closed before looking at the request: a deploy without its secret authenticates nobody.
  authSecret(c.env);
  const header = c.req.header("Authorization");
  let token: string | undefined;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError("UNAUTHORIZED", "Authorization must be 'Bearer <token>'");
    token = match[1];
  } else if (allowQueryToken) {
    token = c.req.query("token");
  }
  if (!token) throw new ApiError("UNAUTHORIZED", "missing token");
  const caller = await verifyBearer(token, c.env);
  await checkDevice(c.env, caller);
  return caller;
}

export function requireRole(caller: Caller, ...roles: Role[]): void {
  if (!roles.includes(caller.role)) throw new ApiError("FORBIDDEN", `this needs the role ${roles.join(" or ")}`);
}

/** Dispatch and (Additions v2) a platform's backend: they act for every merchant. */
export const OPERATORS = ["dispatch", "platform"] as const satisfies Role[];

export function isOperator(caller: Caller): boolean {
  return (OPERATORS as readonly Role[]).includes(caller.role);
}

/** Merchant staff of exactly this store (and dispatch or a platform, where `allowOperators`). */
export function requireMerchant(caller: Caller, merchantId: string, allowOperators = false): void {
  if (allowOperators && isOperator(caller)) return;
  if (caller.role !== "merchant") throw new ApiError("FORBIDDEN", "this needs a merchant token");
  if (caller.merchantId !== merchantId) throw new ApiError("FORBIDDEN", "this token is for another merchant");
}
