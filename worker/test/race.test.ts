/** Concurrent changes to one order: the room is the single writer, so exactly one wins. */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectGapless } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

describe("racing changes", () => {
  it("two accepts of the same order: exactly one 200, the other 409, one event", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const path = `/api/merchants/${merchantId}/orders/${order.id}/accept`;
    const [a, b] = await Promise.all([
      api<Order>("POST", path, { token: await tokens.merchant(merchantId, "screen-1"), body: { prepMinutes: 10 } }),
      api<Order>("POST", path, { token: await tokens.merchant(merchantId, "screen-2"), body: { prepMinutes: 20 } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? a : b;
    expectError(a.status === 200 ? b : a, 409, "INVALID_TRANSITION");
    expect(winner.body).toMatchObject({ status: "ACCEPTED", version: 2 });

    const log = await merchantLog(merchantId);
    expectGapless(log);
    expect(log.map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED"]);
    expect(log[1]!.order).toEqual(winner.body);
    // Every copy agrees on the winner.
    await flushOutbox(merchantId);
    expect(await orderStub(order.id).getOrder()).toEqual(winner.body);
    expect((await api<Order>("GET", `/api/orders/${order.id}`, { token: await tokens.dispatch() })).body).toEqual(
      winner.body,
    );
  });

  it("ten screens accepting at once: one wins", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const path = `/api/merchants/${merchantId}/orders/${order.id}/accept`;
    const staff = await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.merchant(merchantId, `screen-${i}`)));
    const results = await Promise.all(staff.map((token) => api("POST", path, { token, body: {} })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED"]);
  });

  it("accept, reject and the customer's cancel racing: exactly one of them happens", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const m = `/api/merchants/${merchantId}/orders/${order.id}`;
    const results = await Promise.all([
      api<Order>("POST", `${m}/accept`, { token: staff, body: {} }),
      api<Order>("POST", `${m}/reject`, { token: staff, body: { reason: "busy" } }),
      api<Order>("POST", `/api/orders/${order.id}/cancel`, {
        token: await tokens.customer(),
        body: { reason: "too slow" },
      }),
      api("POST", `/api/merchants/${merchantId}/orders/bulk`, {
        token: staff,
        body: { action: "accept", orderIds: [order.id] },
      }),
    ]);
    const singleWins = results.slice(0, 3).filter((r) => r.status === 200);
    const bulkWon = results[3]!.body.results[0].ok === true;
    expect(singleWins.length + (bulkWon ? 1 : 0)).toBe(1);
    for (const r of results.slice(0, 3)) if (r.status !== 200) expectError(r, 409, "INVALID_TRANSITION");
    const log = await merchantLog(merchantId);
    expect(log).toHaveLength(2);
    const final = (await api<Order>("GET", `/api/orders/${order.id}`, { token: staff })).body;
    expect(final.version).toBe(2);
    expect(log[1]!.order).toEqual(final);
  });
});
