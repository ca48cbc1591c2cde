/**
 * Tokens as a client holds them, signed here with hono's `sign` (not the product's issueToken, so
 * a bug there cannot hide behind the tests), and the one set of credentials every route and
 * socket must refuse with 401.
 */
import { sign } from "hono/jwt";
import type { Role } from "../../../schema/index.ts";
import { SECRET } from "./http.ts";

export interface Claims {
  role: string;
  sub: string;
  merchantId?: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A valid token for these claims, expiring in `ttlSeconds` (12 h; negative: already expired). */
export function tokenFor(claims: Claims, ttlSeconds = 12 * 3600): Promise<string> {
  return sign({ ...claims, exp: nowSeconds() + ttlSeconds }, SECRET, "HS256");
}

export function token(role: Role, sub: string, merchantId?: string): Promise<string> {
  return tokenFor({ role, sub, ...(merchantId !== undefined ? { merchantId } : {}) });
}

/** The principals most tests act as; each id can be overridden. */
export const tokens = {
  customer: (id = "cust-1") => token("customer", id),
  merchant: (merchantId: string, staff = "staff-1") => token("merchant", staff, merchantId),
  driver: (id = "driver-1") => token("driver", id),
  dispatch: (id = "dispatch-1") => token("dispatch", id),
  platform: (id = "platform-1") => token("platform", id),
};

export function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** A secret that is not the Worker's. */
export const OTHER_SECRET = "another-secret-0123456789abcdef";

/**
 * Credentials that must get 401, each built around `claims` (a principal the route would
 * otherwise admit), so the refusal can only come from the credential itself. `header` is the
 * full Authorization header value; undefined sends none.
 */
export async function badCredentials(claims: Claims): Promise<{ what: string; header: string | undefined }[]> {
  const exp = nowSeconds() + 600;
  const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...claims, exp })}.`;
  const good = await tokenFor(claims);
  const [h, p, s] = good.split(".");
  return [
    { what: "no token", header: undefined },
    { what: "empty bearer", header: "Bearer " },
    { what: "malformed token", header: "Bearer not-a-jwt" },
    { what: "malformed token (three garbage parts)", header: "Bearer abc.def.ghi" },
    { what: "not a bearer scheme", header: `Basic ${btoa("user:pass")}` },
    { what: "wrong signature", header: `Bearer ${await sign({ ...claims, exp }, OTHER_SECRET, "HS256")}` },
    { what: "signature cut off", header: `Bearer ${h}.${p}.` },
    {
      what: "payload swapped under a valid signature",
      header: `Bearer ${h}.${b64url({ ...claims, role: "dispatch", exp })}.${s}`,
    },
    { what: "expired token", header: `Bearer ${await tokenFor(claims, -60)}` },
    { what: "token without exp", header: `Bearer ${await sign({ ...claims }, SECRET, "HS256")}` },
    { what: "unsigned (alg none)", header: `Bearer ${unsigned}` },
    { what: "other algorithm (HS512)", header: `Bearer ${await sign({ ...claims, exp }, SECRET, "HS512")}` },
    { what: "unknown role", header: `Bearer ${await sign({ ...claims, role: "admin", exp }, SECRET, "HS256")}` },
    {
      what: "merchant token without merchantId",
      header: `Bearer ${await sign({ role: "merchant", sub: "staff-x", exp }, SECRET, "HS256")}`,
    },
  ];
}
