/**
 * Authentication on every REST route (401 for every kind of bad token, before anything is
 * touched), dev tokens (and their 404 when DEV_MODE is off), failing closed without AUTH_SECRET,
 * and the one JSON error shape for whatever reaches the Worker.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../app.ts";
import { issueToken, verifyToken } from "../auth.ts";
import { expectError, expectJson, expectZod400 } from "./support/assertions.ts";
import { badCredentials, tokens } from "./support/credentials.ts";
import { placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, BASE, SECRET } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

/** Every REST route of the contract, with a body that would be valid. */
function routes(merchantId: string, orderId: string): { method: string; path: string; body?: unknown }[] {
  const m = `/api/merchants/${merchantId}/orders/${orderId}`;
  const o = `/api/orders/${orderId}`;
  return [
    { method: "PUT", path: `/api/merchants/${merchantId}`, body: { name: "Renamed" } },
    { method: "GET", path: `/api/merchants/${merchantId}/orders?status=active` },
    { method: "GET", path: `/api/merchants/${merchantId}/orders?status=all` },
    {
      method: "POST",
      path: "/api/orders",
      body: { merchantId, items: [{ name: "Tea", quantity: 1, unitPriceCents: 200 }] },
    },
    { method: "GET", path: o },
    { method: "GET", path: `${o}/events` },
    { method: "POST", path: `${o}/cancel`, body: { reason: "no" } },
    { method: "POST", path: `${o}/driver`, body: { driverId: "driver-1", name: "Dana" } },
    { method: "POST", path: `${o}/arrived` },
    { method: "POST", path: `${o}/pickup` },
    { method: "POST", path: `${o}/deliver` },
    { method: "POST", path: `${m}/accept`, body: { prepMinutes: 5 } },
    { method: "POST", path: `${m}/reject`, body: { reason: "closed" } },
    { method: "POST", path: `${m}/preparing` },
    { method: "POST", path: `${m}/ready` },
    { method: "POST", path: `${m}/prep-time`, body: { prepMinutes: 5 } },
    {
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/bulk`,
      body: { action: "accept", orderIds: [orderId] },
    },
  ];
}

/** Calls the Hono app directly with a modified env (the deployed configuration, a missing secret). */
async function callApp(
  envPatch: Record<string, unknown>,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const request = new Request(`${BASE}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const ctx = createExecutionContext();
  const res = await app.fetch(request, { ...env, ...envPatch } as Env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // asserted below to be JSON
  }
  return { status: res.status, body, headers: res.headers };
}

describe("401 on every route", () => {
  it("refuses a missing, wrongly signed, expired, malformed or unsigned token on every route, and changes nothing", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const before = await merchantLog(merchantId);
    const bad = await badCredentials({ role: "dispatch", sub: "dispatch-1" });
    for (const route of routes(merchantId, order.id)) {
      for (const { what, header } of bad) {
        const res = await api(route.method, route.path, {
          ...(route.body !== undefined ? { body: route.body } : {}),
          ...(header !== undefined ? { headers: { Authorization: header } } : {}),
        });
        expect(res.status, `${route.method} ${route.path} with ${what} token`).toBe(401);
        expectError(res, 401, "UNAUTHORIZED");
      }
    }
    // Nothing reached a room: the stream, the order and the merchant are as they were.
    expect(await merchantLog(merchantId)).toEqual(before);
    const now = await api("GET", `/api/orders/${order.id}`, { token: await tokens.dispatch() });
    expect(now.body).toEqual(order);
  });

  it("authenticates before validating (a bad body without a token is 401, not 400)", async () => {
    const res = await api("POST", "/api/orders", { body: { merchantId: "" } });
    expectError(res, 401, "UNAUTHORIZED");
  });
});

describe("a token's lifetime", () => {
  it("a token in use stops working the moment it expires, and never works under another secret", async () => {
    const { merchantId } = await setupMerchant();
    const token = await issueToken({ role: "merchant", sub: "short-shift", merchantId }, SECRET, 2);
    const path = `/api/merchants/${merchantId}/orders`;
    expect((await api("GET", path, { token })).status).toBe(200);
    expect(await verifyToken(token, SECRET)).toMatchObject({ role: "merchant", id: "short-shift", merchantId });
    await expect(verifyToken(token, "another-secret-0123456789abcdef")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const { exp } = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { exp: number };
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    expectError(await api("GET", path, { token }), 401, "UNAUTHORIZED");
    await expect(verifyToken(token, SECRET)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  }, 10_000);
});

describe("GET /api/health", () => {
  it("answers { ok: true } to anyone, saying whether dev helpers are on", async () => {
    const res = await api("GET", "/api/health");
    expectJson(res, 200);
    expect(res.body).toEqual({ ok: true, dev: true }); // the test pool runs with DEV_MODE=true
    const deployed = await app.fetch(new Request("http://x/api/health"), {
      ...env,
      DEV_MODE: undefined,
    } as unknown as Env);
    expect(await deployed.json()).toEqual({ ok: true, dev: false });
  });
});

describe("POST /api/dev/token (DEV_MODE=true in tests)", () => {
  it("mints a token the API accepts, for each role", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId, await tokens.customer("cust-dev"));
    for (const body of [
      { role: "customer", sub: "cust-dev" },
      { role: "merchant", sub: "staff-dev", merchantId },
      { role: "dispatch", sub: "ops" },
    ]) {
      const res = await api<{ token: string }>("POST", "/api/dev/token", { body });
      expectJson(res, 200);
      expect(Object.keys(res.body)).toEqual(["token"]);
      const read = await api("GET", `/api/orders/${order.id}`, { token: res.body.token });
      expect(read.status, JSON.stringify(body)).toBe(200);
      expect(await verifyToken(res.body.token, SECRET)).toMatchObject({ role: body.role, id: body.sub });
    }
    const driver = await api<{ token: string }>("POST", "/api/dev/token", { body: { role: "driver", sub: "drv-dev" } });
    expect(driver.status).toBe(200);
    // A valid driver token, not this order's driver.
    expectError(await api("GET", `/api/orders/${order.id}`, { token: driver.body.token }), 403, "FORBIDDEN");
  });

  it("validates the body with zod", async () => {
    expectZod400(await api("POST", "/api/dev/token", { body: { role: "admin", sub: "x" } }), ["role"]);
    expectZod400(await api("POST", "/api/dev/token", { body: { role: "merchant", sub: "x" } }), ["merchantId"]);
    expectZod400(await api("POST", "/api/dev/token", { body: { role: "customer", sub: "has space" } }), ["sub"]);
    expectZod400(await api("POST", "/api/dev/token", { body: {} }));
  });

  it("answers 404 when DEV_MODE is unset (the deployed configuration)", async () => {
    const res = await callApp({ DEV_MODE: undefined }, "POST", "/api/dev/token", {
      body: { role: "dispatch", sub: "ops" },
    });
    expectError(res, 404, "NOT_FOUND");
    // …and for anything else under /api/dev too.
    expectError(await callApp({ DEV_MODE: undefined }, "GET", "/api/dev/token"), 404, "NOT_FOUND");
    expectError(
      await callApp({ DEV_MODE: "false" }, "POST", "/api/dev/token", { body: { role: "dispatch", sub: "ops" } }),
      404,
      "NOT_FOUND",
    );
    // The same app with dev mode on does mint (so the 404 above is dev mode's doing).
    const on = await callApp({}, "POST", "/api/dev/token", { body: { role: "dispatch", sub: "ops" } });
    expect(on.status).toBe(200);
  });
});

describe("a missing AUTH_SECRET fails closed", () => {
  it("answers 500 INTERNAL naming the missing secret, and accepts no token (not even a once-valid one)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    for (const patch of [{ AUTH_SECRET: undefined }, { AUTH_SECRET: "" }, { AUTH_SECRET: "short" }]) {
      const accept = await callApp(patch, "POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, {
        token: staff,
        body: {},
      });
      const error = expectError(accept as never, 500, "INTERNAL");
      expect(error.message).toMatch(/AUTH_SECRET/);
      const read = await callApp(patch, "GET", `/api/orders/${order.id}`, { token: await tokens.dispatch() });
      expectError(read as never, 500, "INTERNAL");
      const mint = await callApp(patch, "POST", "/api/dev/token", { body: { role: "dispatch", sub: "ops" } });
      expectError(mint as never, 500, "INTERNAL");
      // Not even an unauthenticated request gets a 401 that could be mistaken for "fine otherwise".
      expectError((await callApp(patch, "GET", `/api/orders/${order.id}`)) as never, 500, "INTERNAL");
    }
    const still = await api("GET", `/api/orders/${order.id}`, { token: staff });
    expect(still.body.status).toBe("PLACED");
    expect(still.body.version).toBe(1);
  });
});

describe("errors are always JSON in the one shape", () => {
  it("unknown routes and methods", async () => {
    const dispatch = await tokens.dispatch();
    expectError(await api("GET", "/api/nope"), 404, "NOT_FOUND");
    expectError(await api("GET", "/api/nope", { token: dispatch }), 404, "NOT_FOUND");
    expectError(await api("DELETE", "/api/health"), 404, "NOT_FOUND");
    expectError(await api("PATCH", "/api/orders", { token: dispatch }), 404, "NOT_FOUND");
    expectError(await api("GET", "/ws/nowhere"), 404, "NOT_FOUND");
  });

  it("malformed JSON, a wrong content type, an oversized body", async () => {
    const { merchantId } = await setupMerchant();
    const customer = await tokens.customer();
    expectError(await api("POST", "/api/orders", { token: customer, body: "{not json" }), 400, "BAD_REQUEST");
    expectError(
      await api("POST", "/api/orders", { token: customer, body: "", headers: { "Content-Type": "application/json" } }),
      400,
      "BAD_REQUEST",
    );
    const huge = { merchantId, items: [{ name: "x", quantity: 1, unitPriceCents: 1 }], notes: "x".repeat(70_000) };
    expectError(await api("POST", "/api/orders", { token: customer, body: huge }), 413, "TOO_LARGE");
  });

  it("odd paths and ids", async () => {
    const dispatch = await tokens.dispatch();
    for (const path of [
      "/api/orders/%E0%A4%A",
      "/api/orders/..%2F..%2Fetc",
      `/api/orders/${"a".repeat(300)}.b`,
      "/api/merchants/%00/orders",
    ]) {
      const res = await api("GET", path, { token: dispatch });
      expect([400, 404], `${path}: ${res.status}`).toContain(res.status);
      expectError(res, res.status, res.status === 400 ? "BAD_REQUEST" : "NOT_FOUND");
    }
  });
});
