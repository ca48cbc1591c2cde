/**
 * The outbox: a relay to an OrderRoom or to D1 that fails is retried by the room's own alarm
 * until delivered, in version order, without duplicates; an outage never slows the kitchen.
 * Failures are injected through the room's receiver seam (support/room-seams.ts);
 * delivery is left to the real alarm — the tests never call deliverPending until the very end.
 */
import { describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import type { Order } from "../../schema/index.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { failReceivers, merchantLog, orderLog, outboxRows, receiverFaults } from "./support/room-seams.ts";

async function d1Version(orderId: string): Promise<number | null> {
  const row = await env.DB.prepare(`SELECT version FROM orders WHERE id = ?`)
    .bind(orderId)
    .first<{ version: number }>();
  return row?.version ?? null;
}

/** Waits (on the real alarm) until D1 and the OrderRoom hold the merchant room's version of every order. */
async function waitConsistent(merchantId: string, orderIds: string[], timeout = 20_000): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const id of orderIds) {
        const truth = (await merchantStub(merchantId).getOrder(id))!;
        expect((await orderStub(id).getOrder())?.version, `order room of ${id}`).toBe(truth.version);
        expect(await d1Version(id), `D1 row of ${id}`).toBe(truth.version);
      }
      expect(await outboxRows(merchantId)).toEqual([]);
    },
    { timeout, interval: 100 },
  );
}

/** The end state must agree everywhere: merchant room, OrderRoom (whole order and log), D1 (row and trail). */
async function expectSameEverywhere(merchantId: string, orderIds: string[]): Promise<void> {
  const log = await merchantLog(merchantId);
  for (const id of orderIds) {
    const truth = (await merchantStub(merchantId).getOrder(id)) as Order;
    expect(await orderStub(id).getOrder()).toEqual(truth);
    const row = await env.DB.prepare(`SELECT version, status, json FROM orders WHERE id = ?`)
      .bind(id)
      .first<{ version: number; status: string; json: string }>();
    expect(row).toMatchObject({ version: truth.version, status: truth.status });
    expect(JSON.parse(row!.json)).toEqual(truth);
    const mine = log.filter((e) => e.orderId === id);
    // Each version exactly once, in order, in the OrderRoom's stream and in D1's trail.
    expect((await orderLog(id)).map((e) => [e.seq, e.version])).toEqual(mine.map((e, i) => [i + 1, e.version]));
    const trail = await env.DB.prepare(
      `SELECT version, seq, event FROM order_events WHERE order_id = ? ORDER BY version`,
    )
      .bind(id)
      .all<{ version: number; seq: number; event: string }>();
    expect(trail.results.map((r) => [r.version, r.seq, r.event])).toEqual(mine.map((e) => [e.version, e.seq, e.event]));
  }
}

async function busyOrders(merchantId: string, staff: string): Promise<string[]> {
  const a = await placeOrder(merchantId);
  const b = await placeOrder(merchantId);
  const m = `/api/merchants/${merchantId}/orders`;
  expect((await api("POST", `${m}/${a.id}/accept`, { token: staff, body: { prepMinutes: 5 } })).status).toBe(200);
  expect(
    (await api("POST", `/api/orders/${a.id}/driver`, { token: await tokens.dispatch(), body: DRIVER })).status,
  ).toBe(200);
  expect((await api("POST", `${m}/${a.id}/ready`, { token: staff })).status).toBe(200);
  expect((await api("POST", `${m}/${b.id}/reject`, { token: staff, body: { reason: "closed" } })).status).toBe(200);
  return [a.id, b.id];
}

describe("outbox delivery", () => {
  it("an OrderRoom relay that fails is retried by the alarm until delivered, in version order", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 3, projection: 0 });
    const ids = await busyOrders(merchantId, staff);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const faults = await receiverFaults(merchantId);
    expect(faults.orderRoom).toBe(0); // every injected failure happened…
    expect(faults.calls.orderRoom).toBeGreaterThanOrEqual(6 + 3); // …and was retried
  }, 60_000);

  it("a D1 projection that fails is retried by the alarm until delivered", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 0, projection: 3 });
    const ids = await busyOrders(merchantId, staff);
    // While D1 is down the rows wait with their error recorded.
    await vi.waitFor(
      async () =>
        expect(
          (await outboxRows(merchantId)).some(
            (r) => r.target === "projection" && r.attempts > 0 && r.last_error === "D1 unavailable",
          ),
        ).toBe(true),
      {
        timeout: 10_000,
      },
    );
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    expect((await receiverFaults(merchantId)).projection).toBe(0);
  }, 60_000);

  it("both receivers failing at once still converge on the merchant room's version", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 4, projection: 4 });
    const ids = await busyOrders(merchantId, staff);
    await waitConsistent(merchantId, ids, 30_000);
    await expectSameEverywhere(merchantId, ids);
  }, 60_000);

  it("a lost acknowledgement is retried and the receivers apply it once (idempotent by version)", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 3, projection: 3, afterDelivery: true });
    const ids = await busyOrders(merchantId, staff);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const faults = await receiverFaults(merchantId);
    expect(faults.orderRoom + faults.projection).toBe(0);
  }, 60_000);

  it("an outage never slows the kitchen: changes commit and answer while nothing can be delivered", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 1_000_000, projection: 1_000_000 });
    const ids = await busyOrders(merchantId, staff);
    expect((await merchantLog(merchantId)).length).toBe(6);
    const board = await api("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(board.body.orders.map((o: Order) => [o.id, o.status])).toEqual([[ids[0], "READY"]]);
    // Nothing reached D1 or the order rooms yet, and the outbox holds every change for both.
    expect(await d1Version(ids[0]!)).toBeNull();
    expect(await orderStub(ids[0]!).getOrder()).toBeNull();
    const pending = await outboxRows(merchantId);
    expect(pending.filter((r) => r.target === "order-room")).toHaveLength(6);
    expect(pending.filter((r) => r.target === "projection").length).toBeGreaterThanOrEqual(6);

    // The outage ends; the alarm delivers everything.
    await failReceivers(merchantId, { orderRoom: 0, projection: 0 });
    await waitConsistent(merchantId, ids, 45_000);
    await expectSameEverywhere(merchantId, ids);
  }, 90_000);

  it("in a rush D1 gets a batch per window, not a call per change, and every change still arrives", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 0, projection: 0 }); // counts calls only
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await placeOrder(merchantId)).id);
    const m = `/api/merchants/${merchantId}/orders`;
    for (const id of ids.slice(0, 10))
      expect((await api("POST", `${m}/${id}/accept`, { token: staff })).status).toBe(200);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const { calls } = await receiverFaults(merchantId);
    expect(calls.orderRoom).toBe(30); // the customer's view is not batched: one relay per change
    expect(calls.projection).toBeLessThanOrEqual(15); // 30 changes (+ the merchant's settings)
  }, 60_000);

  it("the largest order the API accepts (100 items) reaches D1 whole, and does not hold up the others", async () => {
    const { merchantId, staff } = await setupMerchant();
    const items = Array.from({ length: 100 }, (_, i) => ({
      name: `dish ${i}`,
      quantity: (i % 99) + 1,
      unitPriceCents: 100 + i,
      notes: `note ${i}`,
    }));
    const big = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId, items },
    });
    expect(big.status).toBe(201);
    const small = await placeOrder(merchantId);
    await waitConsistent(merchantId, [big.body.id, small.id]);
    const stored = await env.DB.prepare(
      `SELECT position, name, quantity, unit_price_cents AS unitPriceCents, notes FROM order_items WHERE order_id = ? ORDER BY position`,
    )
      .bind(big.body.id)
      .all<{ position: number; name: string; quantity: number; unitPriceCents: number; notes: string }>();
    expect(stored.results.map(({ position, ...item }) => ({ ...item, position }))).toEqual(
      items.map((item, position) => ({ ...item, position })),
    );
    expect((await api<Order>("GET", `/api/orders/${big.body.id}`, { token: staff })).body.items).toEqual(items);
  }, 60_000);
});
