/**
 * Orders in from a platform (Additions v2): placed for a customer with the platform's own
 * `externalId`, idempotent by it without an Idempotency-Key (same body: 200 and the first order;
 * another body: 422), found by it, each merchant's externalIds its own; the optional fields any
 * placer may send are validated and kept on the order.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { ITEMS, setupMerchant } from "./support/fixtures.ts";
import { api, uniqueId } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

function platformPlace(body: Record<string, unknown>, token?: string) {
  return tokens.platform().then((t) => api<Order>("POST", "/api/orders", { token: token ?? t, body }));
}

describe("a platform placing orders", () => {
  it("places for the customer it names; the same externalId and body again answers 200 with the first order", async () => {
    const { merchantId } = await setupMerchant();
    const externalId = uniqueId("ue");
    const body = { merchantId, items: ITEMS, customerId: "cust-7", externalId, customerName: "Ana", paid: true };
    const first = await platformPlace(body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ customerId: "cust-7", externalId, status: "PLACED", version: 1 });

    // The same body, its keys in another order: the same placement.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await platformPlace(reordered);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const log = await merchantLog(merchantId);
    expect(log.map((e) => e.event)).toEqual(["ORDER_CREATED"]);
    expect(log[0]!.actor).toEqual({ role: "platform", id: "platform-1" });

    // The customer it was placed for reads it like their own.
    const mine = await api<Order>("GET", `/api/orders/${first.body.id}`, { token: await tokens.customer("cust-7") });
    expect(mine.status).toBe(200);

    // The same externalId with another body is refused; nothing is placed.
    const other = await platformPlace({ ...body, items: [{ ...ITEMS[0]!, quantity: 9 }] });
    expectError(other, 422, "IDEMPOTENCY_MISMATCH");
    expect(await merchantLog(merchantId)).toHaveLength(1);
    // Once the order has moved on, a repeat answers it as it is now.
    const staff = await tokens.merchant(merchantId);
    await api("POST", `/api/merchants/${merchantId}/orders/${first.body.id}/accept`, { token: staff });
    const later = await platformPlace(body);
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ id: first.body.id, status: "ACCEPTED", version: 2 });
  });

  it("finds an order by externalId; each merchant's externalIds are its own", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const externalId = uniqueId("ue");
    const atA = await platformPlace({ merchantId: a.merchantId, items: ITEMS, customerId: "c-1", externalId });
    const atB = await platformPlace({ merchantId: b.merchantId, items: ITEMS, customerId: "c-1", externalId });
    expect([atA.status, atB.status]).toEqual([201, 201]);
    expect(atB.body.id).not.toBe(atA.body.id);

    const find = async (merchantId: string, ext: string, token: string) =>
      api<Order>("GET", `/api/merchants/${merchantId}/orders/by-external-id/${encodeURIComponent(ext)}`, { token });
    for (const token of [await tokens.platform(), await tokens.dispatch(), a.staff]) {
      const found = await find(a.merchantId, externalId, token);
      expect(found.status).toBe(200);
      expect(found.body).toEqual(atA.body);
    }
    expect((await find(b.merchantId, externalId, await tokens.platform())).body.id).toBe(atB.body.id);
    expectError(await find(a.merchantId, "never-placed", await tokens.platform()), 404, "NOT_FOUND");
    expectError(await find(a.merchantId, externalId, b.staff), 403, "FORBIDDEN");
    expectError(await find(a.merchantId, externalId, await tokens.customer("c-1")), 403, "FORBIDDEN");
    expectError(await find(a.merchantId, "x".repeat(129), await tokens.platform()), 404, "NOT_FOUND");
  });

  it("must name the customer and its own id; a customer may name neither", async () => {
    const { merchantId } = await setupMerchant();
    const base = { merchantId, items: ITEMS };
    expectError(await platformPlace({ ...base, externalId: "e-1" }), 400, "BAD_REQUEST");
    expectError(await platformPlace({ ...base, customerId: "c-1" }), 400, "BAD_REQUEST");
    expectZod400(await platformPlace({ ...base, customerId: "c-1", externalId: "" }), ["externalId"]);
    expectZod400(await platformPlace({ ...base, customerId: "c-1", externalId: "e".repeat(129) }), ["externalId"]);
    expectZod400(await platformPlace({ ...base, customerId: "not an id!", externalId: "e-1" }), ["customerId"]);
    const customer = await tokens.customer();
    for (const extra of [{ customerId: "someone-else" }, { externalId: "e-2" }, { customerId: "c", externalId: "e" }]) {
      expectError(await api("POST", "/api/orders", { token: customer, body: { ...base, ...extra } }), 403, "FORBIDDEN");
    }
    expect(await merchantLog(merchantId)).toHaveLength(0);
  });

  it("validates and keeps the optional fields any placer may send", async () => {
    const { merchantId, staff } = await setupMerchant();
    const base = { merchantId, items: ITEMS, customerId: "c-1" };
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ customerName: "" }, "customerName"],
      [{ customerName: "n".repeat(101) }, "customerName"],
      [{ fulfilment: "drone" }, "fulfilment"],
      [{ paid: "yes" }, "paid"],
    ];
    for (const [extra, field] of bad) {
      expectZod400(await platformPlace({ ...base, externalId: uniqueId("e"), ...extra }), [field]);
    }
    const fields = { customerName: "  Ana Sousa ", fulfilment: "pickup", paid: false };
    const placed = await platformPlace({ ...base, externalId: uniqueId("e"), ...fields });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ customerName: "Ana Sousa", fulfilment: "pickup", paid: false });
    const board = await api<{ orders: Order[] }>("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(board.body.orders[0]).toMatchObject({ customerName: "Ana Sousa", fulfilment: "pickup", paid: false });
    const byCustomer = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId, items: ITEMS, customerName: "Bo", fulfilment: "delivery", paid: true },
    });
    expect(byCustomer.status).toBe(201);
    expect(byCustomer.body).toMatchObject({ customerName: "Bo", fulfilment: "delivery", paid: true });
    expect(byCustomer.body.externalId).toBeUndefined();
  });
});
