/**
 * The outbox: a relay to an OrderRoom or to D1 that fails is retried by the room's own alarm
 * until delivered, in version order, without duplicates; an outage never slows the kitchen.
 * Failures are injected through the room's receiver seam (support/room-seams.ts). Retries are
 * left to the room's real alarm handler; instead of waiting out each backoff in real time, the
 * room's clock is moved past it and the alarm the room set is run — so each retry is also proof
 * that the room scheduled one. deliverPending is never called until the very end.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import {
  advanceRoomClock,
  failReceivers,
  LONGEST_RETRY_MS,
  merchantLog,
  orderLog,
  outboxRows,
  receiverFaults,
} from "./support/room-seams.ts";

async function d1Version(orderId: string): Promise<number | null> {
  const row = await env.DB.prepare(`SELECT version FROM orders WHERE id = ?`)
    .bind(orderId)
    .first<{ version: number }>();
  return row?.version ?? null;
}

/**
 * Runs the room's alarm until `done` holds, moving the room's clock past every backoff first; at
 * most `maxAlarms`. A room with rows to retry must always have an alarm set.
 */
async function alarmsUntil(merchantId: string, done: () => Promise<boolean>, maxAlarms = 12): Promise<number> {
  for (let alarms = 0; ; alarms++) {
    if (await done()) return alarms;
    expect(alarms, "alarms run without reaching the expected state").toBeLessThan(maxAlarms);
    await advanceRoomClock(merchantId, LONGEST_RETRY_MS + 1);
    expect(await runDurableObjectAlarm(merchantStub(merchantId)), "the room set an alarm to retry").toBe(true);
  }
}

/** D1 and every OrderRoom hold the merchant room's version of each order, and the outbox is empty. */
async function consistent(merchantId: string, orderIds: string[]): Promise<boolean> {
  for (const id of orderIds) {
    const truth = (await merchantStub(merchantId).getOrder(id))!;
    if ((await orderStub(id).getOrder())?.version !== truth.version) return false;
    if ((await d1Version(id)) !== truth.version) return false;
  }
  return (await outboxRows(merchantId)).length === 0;
}

/** The room's own alarm (and its clock) bring D1 and the order rooms level. */
function retryUntilConsistent(merchantId: string, orderIds: string[]): Promise<number> {
  return alarmsUntil(merchantId, () => consistent(merchantId, orderIds));
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
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const faults = await receiverFaults(merchantId);
    expect(faults.orderRoom).toBe(0); // every injected failure happened…
    expect(faults.calls.orderRoom).toBeGreaterThanOrEqual(6 + 3); // …and was retried
  });

  it("a D1 projection that fails is retried by the alarm until delivered", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 0, projection: 3 });
    const ids = await busyOrders(merchantId, staff);
    // While D1 is down the rows wait with their error recorded.
    await alarmsUntil(merchantId, async () =>
      (await outboxRows(merchantId)).some(
        (r) => r.target === "projection" && r.attempts > 0 && r.last_error === "D1 unavailable",
      ),
    );
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    expect((await receiverFaults(merchantId)).projection).toBe(0);
  });

  it("both receivers failing at once still converge on the merchant room's version", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 4, projection: 4 });
    const ids = await busyOrders(merchantId, staff);
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
  });

  it("a lost acknowledgement is retried and the receivers apply it once (idempotent by version)", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 3, projection: 3, afterDelivery: true });
    const ids = await busyOrders(merchantId, staff);
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const faults = await receiverFaults(merchantId);
    expect(faults.orderRoom + faults.projection).toBe(0);
  });

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
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
  });

  it("in a rush D1 gets a batch per window, not a call per change, and every change still arrives", async () => {
    const { merchantId, staff } = await setupMerchant();
    await failReceivers(merchantId, { orderRoom: 0, projection: 0 }); // counts calls only
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await placeOrder(merchantId)).id);
    const m = `/api/merchants/${merchantId}/orders`;
    for (const id of ids.slice(0, 10))
      expect((await api("POST", `${m}/${id}/accept`, { token: staff })).status).toBe(200);
    await retryUntilConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const { calls } = await receiverFaults(merchantId);
    expect(calls.orderRoom).toBe(30); // the customer's view is not batched: one relay per change
    expect(calls.projection).toBeLessThanOrEqual(15); // 30 changes (+ the merchant's settings)
  });

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
    await retryUntilConsistent(merchantId, [big.body.id, small.id]);
    const stored = await env.DB.prepare(
      `SELECT position, name, quantity, unit_price_cents AS unitPriceCents, notes FROM order_items WHERE order_id = ? ORDER BY position`,
    )
      .bind(big.body.id)
      .all<{ position: number; name: string; quantity: number; unitPriceCents: number; notes: string }>();
    expect(stored.results.map(({ position, ...item }) => ({ ...item, position }))).toEqual(
      items.map((item, position) => ({ ...item, position })),
    );
    expect((await api<Order>("GET", `/api/orders/${big.body.id}`, { token: staff })).body.items).toEqual(items);
  });
});
