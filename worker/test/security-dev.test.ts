/**
 * The dev-only surface (/api/dev/token, /api/dev/faults, /api/dev/deliver, /api/dev/rows-written): absent (404, before anything else is
 * looked at) in the deployed configuration, which /api/health reports; in dev mode tokens are
 * minted for any role, and the fault hook really makes relays fail for the window it names -
 * after which the outbox alone brings order rooms and D1 level.
 */
import { describe, expect, it } from "vitest";
import { verifyToken } from "../auth.ts";
import { expectError, expectJson, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, type ApiOptions, callApp, SECRET } from "./support/http.ts";
import { advanceRoomClock } from "./support/room-seams.ts";
import { historyRow } from "./support/history.ts";

describe("the deployed configuration has no dev surface", () => {
  it("every /api/dev route is 404 NOT_FOUND, with or without a token, whatever the body, with DEV_MODE unset or false", async () => {
    const { merchantId } = await setupMerchant();
    const dispatch = await tokens.dispatch();
    const cases: [string, string, ApiOptions][] = [
      ["POST", "/api/dev/token", { body: { role: "dispatch", sub: "ops" } }],
      ["GET", "/api/dev/token", {}],
      ["POST", "/api/dev/faults", { body: { merchantId, failOrderRoomRelaysForMs: 60_000 } }],
      ["POST", "/api/dev/faults", { token: dispatch, body: { merchantId, failProjectionForMs: 60_000 } }],
      ["POST", "/api/dev/faults", { token: dispatch, body: "garbage", headers: { "Content-Type": "text/plain" } }],
      ["POST", "/api/dev/deliver", { token: dispatch, body: { merchantId } }],
      ["GET", "/api/dev/rows-written", {}],
      ["GET", "/api/dev/anything", {}],
    ];
    for (const devMode of [undefined, "false"])
      for (const [method, path, opts] of cases)
        expectError(await callApp({ DEV_MODE: devMode }, method, path, opts), 404, "NOT_FOUND", `${path} deployed`);
    // The same app with dev mode on does mint (so the 404s above are dev mode's doing)…
    expect((await callApp({}, "POST", "/api/dev/token", { body: { role: "dispatch", sub: "ops" } })).status).toBe(200);
    // …and nothing was injected: the room still relays.
    const order = await placeOrder(merchantId);
    expect((await merchantStub(merchantId).deliverPending()).pending).toBe(0);
    expect((await orderStub(order.id).getOrder())?.version).toBe(1);
  });

  it("GET /api/health answers { ok: true } to anyone, saying whether dev helpers are on", async () => {
    const res = await api("GET", "/api/health");
    expectJson(res, 200);
    expect(res.body).toEqual({ ok: true, dev: true }); // the test pool runs with DEV_MODE=true
    expect((await callApp({ DEV_MODE: undefined }, "GET", "/api/health")).body).toEqual({ ok: true, dev: false });
  });
});

describe("POST /api/dev/token (dev mode)", () => {
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
});

describe("POST /api/dev/faults (dev mode)", () => {
  it("needs a dispatch token and a valid body", async () => {
    const { merchantId, staff } = await setupMerchant();
    expectError(await api("POST", "/api/dev/faults", { body: { merchantId } }), 401, "UNAUTHORIZED", "no token");
    expectError(
      await api("POST", "/api/dev/faults", { token: staff, body: { merchantId } }),
      403,
      "FORBIDDEN",
      "merchant",
    );
    const dispatch = await tokens.dispatch();
    expectError(
      await api("POST", "/api/dev/faults", { token: dispatch, body: { merchantId, failProjectionForMs: -1 } }),
      400,
      "BAD_REQUEST",
      "negative",
    );
    expectError(
      await api("POST", "/api/dev/faults", { token: dispatch, body: { merchantId: "no-such-merchant" } }),
      404,
      "NOT_FOUND",
      "unknown merchant",
    );
  });

  for (const afterDelivery of [false, true]) {
    it(`relays fail for the window (${afterDelivery ? "acknowledgement lost" : "receiver down"}), then the outbox catches up exactly once`, async () => {
      const { merchantId, staff } = await setupMerchant();
      const dispatch = await tokens.dispatch();
      const res = await api("POST", "/api/dev/faults", {
        token: dispatch,
        body: { merchantId, failOrderRoomRelaysForMs: 60_000, failProjectionForMs: 60_000, afterDelivery },
      });
      expect(res.status).toBe(200);
      expect(res.body.orderRoomUntil).toEqual(expect.any(String));
      const order = await placeOrder(merchantId);
      const accepted = await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, {
        token: staff,
        body: {},
      });
      expect(accepted.status).toBe(200); // the kitchen is never slowed by a relay outage
      const { pending } = await merchantStub(merchantId).deliverPending();
      expect(pending).toBeGreaterThan(0);
      const d1 = () => historyRow(order.id);
      if (!afterDelivery) {
        expect(await orderStub(order.id).getOrder()).toBeNull();
        expect(await d1()).toBeNull();
      }
      // The outage ends (the room's clock passes it and every backoff); the outbox alone recovers.
      await advanceRoomClock(merchantId, 61_000);
      expect((await merchantStub(merchantId).deliverPending()).pending).toBe(0);
      expect((await orderStub(order.id).getOrder())?.version).toBe(2);
      expect((await orderStub(order.id).streamInfo()).seq).toBe(2);
      expect((await d1())?.version).toBe(2);
    });
  }
});
