/**
 * Shared by the REST, bulk, idempotency, deadline, event-log, outbox and race tests: the exact
 * error-shape assertion, tokens that must be refused, driving an order to a given status through
 * the real API, and reading a room's stream straight from its storage.
 */
import { expect } from "vitest";
import { sign } from "hono/jwt";
import { ErrorResponseSchema, type ErrorCode, type Order, type OrderStatus } from "../../schema/index.ts";
import { api, inMerchantRoom, placeOrder, SECRET, tokens, type ApiResponse } from "./helpers.ts";

/** Asserts a JSON response with this status (never HTML, never a stack trace). */
export function expectJson(res: ApiResponse, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("Content-Type") ?? "").toMatch(/^application\/json/);
  expect(typeof res.body, `body is not JSON: ${String(res.body).slice(0, 200)}`).toBe("object");
}

/** Asserts exactly `{ error: { code, message, details? } }` with this status and code. */
export function expectError(
  res: ApiResponse,
  status: number,
  code: ErrorCode,
): { code: string; message: string; details?: unknown } {
  expectJson(res, status);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(["error"]);
  const parsed = ErrorResponseSchema.strict().safeParse(body);
  expect(parsed.success, JSON.stringify(body)).toBe(true);
  const error = body.error as { code: string; message: string; details?: unknown };
  for (const key of Object.keys(error)) expect(["code", "message", "details"]).toContain(key);
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.message).not.toMatch(/\n\s+at |<html|<!doctype/i);
  return error;
}

/** A 400 whose details are zod issues, one of which is at `path` (when given). */
export function expectZod400(res: ApiResponse, path?: (string | number)[]): void {
  const error = expectError(res, 400, "BAD_REQUEST");
  expect(Array.isArray(error.details), `details: ${JSON.stringify(error.details)}`).toBe(true);
  const issues = error.details as { path: (string | number)[]; message: string; code: string }[];
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(Array.isArray(issue.path)).toBe(true);
    expect(typeof issue.message).toBe("string");
    expect(typeof issue.code).toBe("string");
  }
  if (path)
    expect(
      issues.map((i) => i.path),
      JSON.stringify(issues),
    ).toContainEqual(path);
}

/** Tokens the API must refuse with 401, each with what is wrong with it. */
export async function badTokens(): Promise<{ what: string; header: string | undefined }[]> {
  const now = Math.floor(Date.now() / 1000);
  const dispatchClaims = { role: "dispatch", sub: "dispatch-1" };
  const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...dispatchClaims, exp: now + 600 })}.`;
  return [
    { what: "missing", header: undefined },
    {
      what: "bad signature",
      header: `Bearer ${await sign({ ...dispatchClaims, exp: now + 600 }, "another-secret-0123456789abcdef", "HS256")}`,
    },
    { what: "expired", header: `Bearer ${await sign({ ...dispatchClaims, exp: now - 60 }, SECRET, "HS256")}` },
    { what: "malformed", header: "Bearer not-a-jwt" },
    { what: "malformed (three garbage parts)", header: "Bearer abc.def.ghi" },
    { what: "unsigned (alg none)", header: `Bearer ${unsigned}` },
    { what: "no exp", header: `Bearer ${await sign(dispatchClaims, SECRET, "HS256")}` },
    {
      what: "unknown role",
      header: `Bearer ${await sign({ role: "admin", sub: "x", exp: now + 600 }, SECRET, "HS256")}`,
    },
    {
      what: "merchant without merchantId",
      header: `Bearer ${await sign({ role: "merchant", sub: "x", exp: now + 600 }, SECRET, "HS256")}`,
    },
    { what: "not a Bearer header", header: "Basic ZGlzcGF0Y2g6c2VjcmV0" },
    { what: "empty Bearer", header: "Bearer " },
  ];
}

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

export const DRIVER = { driverId: "driver-1", name: "Dana" };

/**
 * Places an order and moves it to `status` through the real API. The customer is `cust-1`, the
 * assigned driver (for PICKED_UP and DELIVERED) `driver-1`.
 */
export async function orderIn(merchantId: string, status: OrderStatus): Promise<Order> {
  const staff = await tokens.merchant(merchantId);
  const order = await placeOrder(merchantId);
  const step = async (path: string, token: string, body: unknown = {}) => {
    const res = await api<Order>("POST", path, { token, body });
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const m = `/api/merchants/${merchantId}/orders/${order.id}`;
  const o = `/api/orders/${order.id}`;
  switch (status) {
    case "PLACED":
      return order;
    case "REJECTED":
      return step(`${m}/reject`, staff, { reason: "out of dough" });
    case "CANCELLED":
      return step(`${o}/cancel`, await tokens.customer(), { reason: "changed my mind" });
    case "EXPIRED":
      throw new Error("use the deadline tests' clock to expire an order");
    default:
  }
  const accepted = await step(`${m}/accept`, staff, { prepMinutes: 10 });
  if (status === "ACCEPTED") return accepted;
  const preparing = await step(`${m}/preparing`, staff);
  if (status === "PREPARING") return preparing;
  const ready = await step(`${m}/ready`, staff);
  if (status === "READY") return ready;
  await step(`${o}/driver`, await tokens.dispatch(), DRIVER);
  const picked = await step(`${o}/pickup`, await tokens.driver(DRIVER.driverId));
  if (status === "PICKED_UP") return picked;
  return step(`${o}/deliver`, await tokens.driver(DRIVER.driverId));
}

/** One row of a room's stream, read from its storage. */
export interface LoggedEvent {
  seq: number;
  orderId: string;
  version: number;
  via: string;
  event: string;
  requestId?: string;
  order: Order;
  actor: { role: string; id: string };
}

/** The merchant room's whole stream, oldest first, straight from its SQLite storage. */
export async function merchantLog(merchantId: string): Promise<LoggedEvent[]> {
  return inMerchantRoom(merchantId, (_room, state) =>
    state.storage.sql
      .exec<{ seq: number; order_id: string; version: number; via: string; envelope: string }>(
        `SELECT seq, order_id, version, via, envelope FROM events ORDER BY seq`,
      )
      .toArray()
      .map((r) => {
        const env = JSON.parse(r.envelope) as {
          event: string;
          seq: number;
          requestId?: string;
          payload: { order: Order; actor: { role: string; id: string } };
        };
        expect(env.seq).toBe(r.seq);
        return {
          seq: r.seq,
          orderId: r.order_id,
          version: r.version,
          via: r.via,
          event: env.event,
          ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
          order: env.payload.order,
          actor: env.payload.actor,
        };
      }),
  );
}

/** Asserts seq runs 1..N with no gap and no repeat. */
export function expectGapless(log: { seq: number }[]): void {
  expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
}
