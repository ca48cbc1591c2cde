/**
 * Shared by the security-* tests: tokens for named principals, the credentials that must be
 * refused with 401, and the one assertion every refusal must pass (exact status, exact error
 * shape, JSON, never HTML or a stack trace).
 */
import { expect } from "vitest";
import { sign } from "hono/jwt";
import { ErrorResponseSchema, type ErrorCode } from "../../schema/index.ts";
import { SECRET } from "./helpers.ts";

export interface Claims {
  role: string;
  sub: string;
  merchantId?: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** A valid token for these claims (12 h). */
export function tokenFor(claims: Claims): Promise<string> {
  return sign({ ...claims, exp: nowSeconds() + 12 * 3600 }, SECRET, "HS256");
}

/**
 * Credentials that must get 401, each built around `claims` (a principal the route would
 * otherwise admit), so the refusal can only come from the credential itself. `header` is the
 * full Authorization header value; undefined sends none.
 */
export async function badCredentials(claims: Claims): Promise<{ what: string; header: string | undefined }[]> {
  const exp = nowSeconds() + 600;
  const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...claims, exp })}.`;
  const good = await tokenFor(claims);
  const [h, p] = good.split(".");
  return [
    { what: "no token", header: undefined },
    { what: "empty bearer", header: "Bearer " },
    { what: "malformed token", header: "Bearer not-a-jwt" },
    { what: "malformed token (three garbage parts)", header: "Bearer abc.def.ghi" },
    { what: "not a bearer scheme", header: `Basic ${btoa("user:pass")}` },
    {
      what: "wrong signature",
      header: `Bearer ${await sign({ ...claims, exp }, "another-secret-0123456789abcdef", "HS256")}`,
    },
    { what: "signature cut off", header: `Bearer ${h}.${p}.` },
    {
      what: "payload swapped under a valid signature",
      header: `Bearer ${h}.${b64url({ ...claims, role: "dispatch", exp })}.${good.split(".")[2]}`,
    },
    { what: "expired token", header: `Bearer ${await sign({ ...claims, exp: nowSeconds() - 60 }, SECRET, "HS256")}` },
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

/** Asserts a JSON response that is never HTML and never carries a stack trace. */
export function expectJsonNotHtml(status: number, contentType: string | null, text: string): void {
  expect(contentType ?? "", `status ${status}: ${text.slice(0, 200)}`).toMatch(/^application\/json/);
  expect(text).not.toMatch(/<html|<!doctype/i);
  expect(text).not.toMatch(/\n\s+at \S|\bat \S+ \(\S+:\d+:\d+\)/);
}

/** Asserts exactly `{ error: { code, message, details? } }` with this status and code. */
export function expectErrorShape(
  res: { status: number; body: unknown; headers: Headers },
  status: number,
  code: ErrorCode,
  context = "",
): void {
  const text = typeof res.body === "string" ? res.body : JSON.stringify(res.body);
  expect(res.status, `${context} → ${text.slice(0, 300)}`).toBe(status);
  expectJsonNotHtml(res.status, res.headers.get("Content-Type"), text);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body), context).toEqual(["error"]);
  expect(ErrorResponseSchema.strict().safeParse(body).success, `${context}: ${text}`).toBe(true);
  const error = body.error as Record<string, unknown>;
  for (const key of Object.keys(error)) expect(["code", "message", "details"], context).toContain(key);
  expect(error.code, context).toBe(code);
  expect(String(error.message).length, context).toBeGreaterThan(0);
}

/** Reads a Response as `{ status, body, headers }` like helpers.api() does. */
export async function asApiResponse(res: Response): Promise<{ status: number; body: unknown; headers: Headers }> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text: the assertions say it must have been JSON
  }
  return { status: res.status, body, headers: res.headers };
}
