/**
 * The dev-only surface (/api/dev/token, /api/dev/faults): absent (404, before anything else is
 * looked at) in the deployed configuration, and in dev mode the fault hook really makes relays
 * fail for the window it names - after which the outbox alone brings order rooms and D1 level.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../app.ts";
import { expectError } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, asApiResponse, BASE } from "./support/http.ts";
import { advanceRoomClock } from "./support/room-seams.ts";

/** The Worker exactly as deployed: wrangler.toml's vars, a real secret, no DEV_MODE. */
async function deployed(path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${BASE}${path}`, init),
    { ...env, DEV_MODE: undefined } as unknown as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return asApiResponse(res);
}

describe("the deployed configuration has no dev surface", () => {
  it("every /api/dev route is 404 NOT_FOUND, with or without a token, whatever the body", async () => {
    const { merchantId } = await setupMerchant();
    const dispatch = await tokens.dispatch();
    const json = { "Content-Type": "application/json" };
    const cases: [string, RequestInit][] = [
      ["/api/dev/token", { method: "POST", headers: json, body: JSON.stringify({ role: "dispatch", sub: "ops" }) }],
      [
        "/api/dev/faults",
        { method: "POST", headers: json, body: JSON.stringify({ merchantId, failOrderRoomRelaysForMs: 60_000 }) },
      ],
      [
        "/api/dev/faults",
        {
          method: "POST",
          headers: { ...json, Authorization: `Bearer ${dispatch}` },
          body: JSON.stringify({ merchantId, failProjectionForMs: 60_000 }),
        },
      ],
      ["/api/dev/faults", { method: "POST", headers: { Authorization: `Bearer ${dispatch}` }, body: "garbage" }],
      ["/api/dev/anything", { method: "GET" }],
    ];
    for (const [path, init] of cases) expectError(await deployed(path, init), 404, "NOT_FOUND", `${path} deployed`);
    // And nothing was injected: the room still relays.
    const order = await placeOrder(merchantId);
    expect((await merchantStub(merchantId).deliverPending()).pending).toBe(0);
    expect((await orderStub(order.id).getOrder())?.version).toBe(1);
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
      const d1 = () =>
        env.DB.prepare(`SELECT version FROM orders WHERE id = ?`).bind(order.id).first<{ version: number }>();
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
      const events = await env.DB.prepare(`SELECT version FROM order_events WHERE order_id = ? ORDER BY version`)
        .bind(order.id)
        .all<{ version: number }>();
      expect(events.results.map((r) => r.version)).toEqual([1, 2]);
    });
  }
});
