/**
 * Tokens of a platform's own identity provider (CONTRACT.md Additions v2, "Actors and sign-in"):
 * RS256 / ES256 JWTs verified against its JWKS (AUTH_JWKS_URL), for its issuer (AUTH_ISSUER) and
 * our audience (AUTH_AUDIENCE), so its customer and driver apps need no Ticket Rail tokens.
 *
 * Signatures are hono/jwt's (WebCrypto); this module picks the key, checks times with the
 * configured clock skew (the provider's clock is not ours) and maps the provider's claim names
 * and role names to the contract's.
 */
import { verifyWithJwks } from "hono/jwt";
import { TokenClaimsSchema, type TokenClaims } from "../../schema/index.ts";
import { ApiError } from "../http.ts";
import { jwksKeys, type JwksKeys } from "./jwks.ts";

/** The only algorithms a provider's token may use (never HS*, never `none`). */
export const PLATFORM_ALGORITHMS = ["RS256", "ES256"] as const;
export type PlatformAlgorithm = (typeof PLATFORM_ALGORITHMS)[number];

export interface PlatformAuthConfig {
  jwksUrl: string;
  issuer: string;
  audience: string;
  clockSkewSeconds: number;
  /** Where the contract's claims are in the provider's tokens. */
  claims: { role: string; sub: string; merchantId: string };
  /** The provider's role names → the contract's (e.g. rider → driver); unmapped names pass as they are. */
  roles: Record<string, string>;
}

const DEFAULT_SKEW_SECONDS = 60;

/**
 * The provider's settings, or null when none is configured. Fails closed: a JWKS without an
 * issuer and an audience would accept every token its provider signs for anyone.
 */
export function platformAuthConfig(env: Env): PlatformAuthConfig | null {
  const jwksUrl = env.AUTH_JWKS_URL?.trim();
  if (!jwksUrl) return null;
  const issuer = env.AUTH_ISSUER?.trim();
  const audience = env.AUTH_AUDIENCE?.trim();
  if (!issuer || !audience) {
    throw new ApiError("INTERNAL", "server misconfigured: AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE");
  }
  const skew = Number(env.AUTH_CLOCK_SKEW_SECONDS);
  return {
    jwksUrl,
    issuer,
    audience,
    clockSkewSeconds: Number.isFinite(skew) && skew >= 0 && skew <= 600 ? skew : DEFAULT_SKEW_SECONDS,
    claims: {
      role: env.AUTH_CLAIM_ROLE?.trim() || "role",
      sub: env.AUTH_CLAIM_SUB?.trim() || "sub",
      merchantId: env.AUTH_CLAIM_MERCHANT_ID?.trim() || "merchantId",
    },
    roles: parseRoleMap(env.AUTH_ROLE_MAP ?? ""),
  };
}

/** `"rider=driver, eater=customer"` → { rider: "driver", eater: "customer" }. */
export function parseRoleMap(value: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of value.split(",")) {
    const [from, to] = pair.split("=").map((s) => s.trim());
    if (from && to) map[from] = to;
  }
  return map;
}

export function isPlatformAlgorithm(alg: unknown): alg is PlatformAlgorithm {
  return (PLATFORM_ALGORITHMS as readonly unknown[]).includes(alg);
}

/** hono/jwt's refusals, said plainly (an operator wiring a provider reads these). */
const REFUSALS: Record<string, string> = {
  JwtTokenIssuer: "wrong issuer",
  JwtTokenAudience: "wrong audience",
  JwtPayloadRequiresAud: "wrong audience",
  JwtAlgorithmMismatch: "algorithm does not match the key",
  JwtTokenSignatureMismatched: "bad signature",
  JwtHeaderInvalid: "header not accepted",
};

const unauthorized = (why: string) => new ApiError("UNAUTHORIZED", `invalid token: ${why}`);

/**
 * Verifies a provider's token and returns its claims in the contract's names. `header` is the
 * token's decoded header (the caller already chose this path by its `alg`).
 */
export async function verifyPlatformToken(
  token: string,
  header: { alg?: unknown; kid?: unknown; typ?: unknown },
  config: PlatformAuthConfig,
  keys: JwksKeys = jwksKeys(config.jwksUrl),
  nowMs = Date.now(),
): Promise<TokenClaims> {
  if (!isPlatformAlgorithm(header.alg)) throw unauthorized("algorithm not accepted");
  if (typeof header.kid !== "string" || header.kid.length === 0) throw unauthorized("no key id");
  const key = await keys.keyFor(header.kid);
  if (!key) throw unauthorized("unknown key id");
  let payload: Record<string, unknown>;
  try {
    payload = await verifyWithJwks(token, {
      keys: [key],
      allowedAlgorithms: [...PLATFORM_ALGORITHMS],
      verification: {
        iss: config.issuer,
        aud: config.audience,
        // Times are checked below, with the skew.
        exp: false,
        nbf: false,
        iat: false,
        // RFC 9068 access tokens say `at+jwt`; others say JWT or nothing.
        ...(header.typ !== undefined ? { typ: ["JWT", "at+jwt"] } : {}),
      },
    });
  } catch (err) {
    throw unauthorized(REFUSALS[err instanceof Error ? err.name : ""] ?? "not accepted");
  }
  checkTimes(payload, nowMs / 1000, config.clockSkewSeconds);
  const role = payload[config.claims.role];
  const claims = TokenClaimsSchema.safeParse({
    role: typeof role === "string" ? (config.roles[role] ?? role) : role,
    sub: payload[config.claims.sub],
    merchantId: payload[config.claims.merchantId],
    exp: payload.exp,
  });
  if (!claims.success) throw new ApiError("UNAUTHORIZED", "token claims are not valid", claims.error.issues);
  return claims.data;
}

function checkTimes(payload: Record<string, unknown>, now: number, skew: number): void {
  const { exp, nbf, iat } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw unauthorized("no expiry");
  if (exp + skew <= now) throw unauthorized("expired");
  if (nbf !== undefined && (typeof nbf !== "number" || nbf - skew > now)) throw unauthorized("not valid yet");
  if (iat !== undefined && (typeof iat !== "number" || iat - skew > now)) throw unauthorized("issued in the future");
}
