/** `POST /api/merchants/:merchantId/orders/bulk`: per-order results in request order; what can move, moves. */
import { describe, expect, it } from "vitest";
import { BulkResponseSchema, type BulkItemResult, type Order } from "../../schema/index.ts";
import { expectGapless, expectJson, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { orderIn, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

const bulkPath = (merchantId: string) => `/api/merchants/${merchantId}/orders/bulk`;

describe("bulk accept and bulk ready", () => {
  it("accept: movable orders move, each unmovable one has its own error, results in request order", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await setupMerchant();
    const p1 = await placeOrder(merchantId);
    const accepted = await orderIn(merchantId, "ACCEPTED");
    const p2 = await placeOrder(merchantId);
    const rejected = await orderIn(merchantId, "REJECTED");
    const foreign = await placeOrder(other.merchantId);
    const p3 = await placeOrder(merchantId);
    const missing = `${merchantId}.doesnotexist`;
    const before = await merchantLog(merchantId);

    const orderIds = [p3.id, accepted.id, missing, p1.id, foreign.id, rejected.id, p2.id];
    const res = await api<{ results: BulkItemResult[] }>("POST", bulkPath(merchantId), {
      token: staff,
      body: { action: "accept", orderIds, prepMinutes: 17 },
    });
    expectJson(res, 200);
    expect(BulkResponseSchema.strict().safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
    const results = res.body.results;
    expect(results.map((r) => r.orderId)).toEqual(orderIds);
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual([
      "ok",
      "INVALID_TRANSITION",
      "NOT_FOUND",
      "ok",
      "NOT_FOUND",
      "INVALID_TRANSITION",
      "ok",
    ]);
    for (const r of results) {
      if (r.ok) expect(r.order).toMatchObject({ id: r.orderId, status: "ACCEPTED", version: 2, prepMinutes: 17 });
      else expect(r.error.message.length).toBeGreaterThan(0);
    }

    // One event per order that moved, in request order, nothing for the others.
    const log = await merchantLog(merchantId);
    expectGapless(log);
    const added = log.slice(before.length);
    expect(added.map((e) => [e.event, e.orderId])).toEqual([
      ["MERCHANT_ACCEPTED", p3.id],
      ["MERCHANT_ACCEPTED", p1.id],
      ["MERCHANT_ACCEPTED", p2.id],
    ]);
    expect(added.every((e) => e.actor.role === "merchant" && e.actor.id === "staff-1" && e.via === "rest")).toBe(true);

    // What did not move is untouched, including the other merchant's order.
    for (const o of [accepted, rejected])
      expect((await api<Order>("GET", `/api/orders/${o.id}`, { token: staff })).body).toEqual(o);
    expect((await api<Order>("GET", `/api/orders/${foreign.id}`, { token: other.staff })).body).toEqual(foreign);
  });

  it("ready: ACCEPTED and PREPARING move; PLACED, READY and final ones get 409", async () => {
    const { merchantId, staff } = await setupMerchant();
    const placed = await placeOrder(merchantId);
    const accepted = await orderIn(merchantId, "ACCEPTED");
    const preparing = await orderIn(merchantId, "PREPARING");
    const ready = await orderIn(merchantId, "READY");
    const delivered = await orderIn(merchantId, "DELIVERED");
    const orderIds = [placed.id, accepted.id, ready.id, preparing.id, delivered.id];
    const res = await api<{ results: BulkItemResult[] }>("POST", bulkPath(merchantId), {
      token: staff,
      body: { action: "ready", orderIds },
    });
    expectJson(res, 200);
    expect(res.body.results.map((r) => [r.orderId, r.ok ? r.order.status : r.error.code])).toEqual([
      [placed.id, "INVALID_TRANSITION"],
      [accepted.id, "READY"],
      [ready.id, "INVALID_TRANSITION"],
      [preparing.id, "READY"],
      [delivered.id, "INVALID_TRANSITION"],
    ]);
    const log = await merchantLog(merchantId);
    expect(log.slice(-2).map((e) => [e.event, e.orderId])).toEqual([
      ["MERCHANT_READY", accepted.id],
      ["MERCHANT_READY", preparing.id],
    ]);
  });

  it("100 orders in one bulk all move, each with its own event", async () => {
    const { merchantId, staff } = await setupMerchant({ defaultPrepMinutes: 8 });
    const customers = await Promise.all(["c-a", "c-b", "c-c", "c-d"].map((id) => tokens.customer(id)));
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await placeOrder(merchantId, customers[i % 4])).id);
    const res = await api<{ results: BulkItemResult[] }>("POST", bulkPath(merchantId), {
      token: staff,
      body: { action: "accept", orderIds: ids },
    });
    expectJson(res, 200);
    expect(res.body.results).toHaveLength(100);
    expect(res.body.results.every((r, i) => r.ok && r.orderId === ids[i] && r.order.prepMinutes === 8)).toBe(true);
    const log = await merchantLog(merchantId);
    expectGapless(log);
    expect(log).toHaveLength(200);
    expect(log.slice(100).map((e) => e.orderId)).toEqual(ids);
  });

  it("400: over 100 ids, duplicate ids, no ids, a bad id, a bad action or prepMinutes — and nothing moves", async () => {
    const { merchantId, staff } = await setupMerchant();
    const o = await placeOrder(merchantId);
    const many = Array.from({ length: 101 }, (_, i) => `${merchantId}.x${i}`);
    const cases: [unknown, (string | number)[]][] = [
      [{ action: "accept", orderIds: [o.id, ...many.slice(1)] }, ["orderIds"]],
      [{ action: "accept", orderIds: [o.id, o.id] }, ["orderIds"]],
      [{ action: "ready", orderIds: [o.id, `${merchantId}.x1`, o.id] }, ["orderIds"]],
      [{ action: "accept", orderIds: [] }, ["orderIds"]],
      [{ action: "accept" }, ["orderIds"]],
      [{ action: "accept", orderIds: [o.id, "not an id"] }, ["orderIds", 1]],
      [{ action: "reject", orderIds: [o.id] }, ["action"]],
      [{ orderIds: [o.id] }, ["action"]],
      [{ action: "accept", orderIds: [o.id], prepMinutes: 0 }, ["prepMinutes"]],
    ];
    for (const [body, path] of cases)
      expectZod400(await api("POST", bulkPath(merchantId), { token: staff, body }), path);
    expect(await merchantLog(merchantId)).toHaveLength(1);
    expect((await api("GET", `/api/orders/${o.id}`, { token: staff })).body.status).toBe("PLACED");
  });
});
