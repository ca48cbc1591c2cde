/**
 * Bearer tokens (CONTRACT.md "Actors and tokens", Additions v2 "Actors and sign-in"). Unsigned,
 * wrongly signed, expired or malformed → 401; the claims are checked against the contract's roles
 * with zod. The token's `alg` picks the path:
 * - HS256 with AUTH_SECRET: development, small deployments, and paired devices' tokens;
 * - RS256 / ES256 against the platform's JWKS (auth/platform-tokens.ts), when configured;
 * - anything else (`none`, HS512, …): 401.
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
  return callerOf(claims.data);
}

/** The caller a token's claims name. */
function callerOf(claims: TokenClaims): Caller {
  const { role, sub, merchantId } = claims;
  return { role, id: sub, ...(role === "merchant" ? { merchantId } : {}) };
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
    return callerOf(await verifyPlatformToken(token, header, config));
  }
  throw new ApiError("UNAUTHORIZED", "invalid or expired token");
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
  return verifyBearer(token, c.env);
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
