/**
 * Orders in from a platform (CONTRACT.md, Additions v2): a platform places on behalf of a
 * customer with its own `externalId` — the same id and body again answers 200 with the first
 * order, another body 422 — and reads an order back by that id
 * (`GET /api/merchants/:merchantId/orders/by-external-id/:externalId`: that merchant, dispatch,
 * the platform).
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectJson } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { setupMerchant } from "./support/fixtures.ts";
import { api, uniqueId } from "./support/http.ts";
import { callers, orderAction, platformToken, tryPlace } from "./support/kitchen.ts";
import { merchantLog } from "./support/room-seams.ts";

const byExternalId = (merchantId: string, externalId: string, tok: string) =>
  api<Order>("GET", `/api/merchants/${merchantId}/orders/by-external-id/${encodeURIComponent(externalId)}`, {
    token: tok,
  });

describe("placing as a platform", () => {
  it("names the customer and its own id; the same externalId and body answers 200 with the order as it is now; another body 422", async () => {
    const { merchantId, staff } = await setupMerchant();
    const platform = await platformToken();
    const externalId = uniqueId("ubr");
    const body = { customerId: "cust-p1", externalId, customerName: "Ana", fulfilment: "delivery", paid: true };
    const first = await tryPlace(merchantId, body, platform);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ customerId: "cust-p1", externalId, customerName: "Ana", paid: true });
    const log = await merchantLog(merchantId);
    expect(log.map((e) => [e.event, e.actor])).toEqual([["ORDER_CREATED", { role: "platform", id: "platform-1" }]]);

    const accepted = (await orderAction(merchantId, first.body.id, "accept", staff)).body;
    const again = await tryPlace(merchantId, body, platform);
    expectJson(again, 200);
    expect(again.body).toEqual(accepted);
    expectError(await tryPlace(merchantId, { ...body, paid: false }, platform), 422, "IDEMPOTENCY_MISMATCH");
    expect(await merchantLog(merchantId)).toHaveLength(2);

    // The id is the platform's at this merchant: the same id at another merchant is another order.
    const other = await setupMerchant();
    expect((await tryPlace(other.merchantId, body, platform)).status).toBe(201);
  });

  it("a platform must name customerId and externalId (400); a customer may name neither (403)", async () => {
    const { merchantId } = await setupMerchant();
    const platform = await platformToken();
    expectError(await tryPlace(merchantId, { customerId: "c" }, platform), 400, "BAD_REQUEST");
    expectError(await tryPlace(merchantId, { externalId: uniqueId("x") }, platform), 400, "BAD_REQUEST");
    expectError(await tryPlace(merchantId, { externalId: uniqueId("x") }), 403, "FORBIDDEN");
    expectError(await tryPlace(merchantId, { customerId: "someone-else" }), 403, "FORBIDDEN");
    for (const who of [await tokens.merchant(merchantId), await tokens.driver(), await tokens.dispatch()]) {
      expectError(await tryPlace(merchantId, { customerId: "c", externalId: uniqueId("x") }, who), 403, "FORBIDDEN");
    }
    expect(await merchantLog(merchantId)).toEqual([]);
  });
});

describe("reading by externalId", () => {
  it("that merchant, dispatch and the platform read the order as it is now; anyone else 403; unknown ids 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const who = await callers(merchantId);
    const externalId = `order/${uniqueId("dd")} #1`;
    const placed = (await tryPlace(merchantId, { customerId: "cust-p2", externalId }, who.platform)).body;
    const ready = await orderAction(merchantId, placed.id, "accept", staff);
    for (const name of ["own", "dispatch", "platform"] as const) {
      const res = await byExternalId(merchantId, externalId, who[name]);
      expect(res.status, name).toBe(200);
      expect(res.body).toEqual(ready.body);
    }
    for (const name of ["otherMerchant", "customer", "driver"] as const) {
      expectError(await byExternalId(merchantId, externalId, who[name]), 403, "FORBIDDEN", name);
    }
    expectError(await byExternalId(merchantId, "never-sent", who.platform), 404, "NOT_FOUND");
    expectError(await byExternalId(uniqueId("ghost"), externalId, who.platform), 404, "NOT_FOUND");
    // Another merchant does not know this merchant's external ids.
    const other = await setupMerchant();
    expectError(await byExternalId(other.merchantId, externalId, who.platform), 404, "NOT_FOUND");
    expectError(await byExternalId(merchantId, "x".repeat(129), who.platform), 404, "NOT_FOUND");
  });
});
