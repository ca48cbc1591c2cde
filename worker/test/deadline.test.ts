/**
 * The acceptance deadline: an order still PLACED at `acceptBy` (placedAt + the merchant's
 * acceptWindowSeconds) becomes EXPIRED by the room's alarm; nothing else is touched. The room's
 * clock is set to the very instant (acceptBy, or 1 ms before it) instead of sleeping;
 * `runDurableObjectAlarm` runs the real alarm handler.
 */
import { describe, expect, it } from "vitest";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import type { AuditEntry, Order } from "../../schema/index.ts";
import { expectError, expectGapless } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { historyRow } from "./support/history.ts";

const MINUTE = 60_000;

/** Sets the room's clock to `order`'s acceptBy, plus `ms`. */
function atAcceptBy(merchantId: string, order: Order, ms = 0) {
  return setRoomClock(merchantId, Date.parse(order.acceptBy) + ms);
}

async function read(orderId: string, token: string): Promise<Order> {
  const res = await api<Order>("GET", `/api/orders/${orderId}`, { token });
  expect(res.status).toBe(200);
  return res.body;
}

describe("acceptance deadline", () => {
  it("the alarm expires an unaccepted order; an accepted one is untouched", async () => {
    const { merchantId, staff } = await setupMerchant();
    const waiting = await placeOrder(merchantId);
    const taken = await placeOrder(merchantId);
    const accepted = (
      await api<Order>("POST", `/api/merchants/${merchantId}/orders/${taken.id}/accept`, { token: staff, body: {} })
    ).body;
    expect(Date.parse(waiting.acceptBy) - Date.parse(waiting.placedAt)).toBe(10 * MINUTE);

    await atAcceptBy(merchantId, waiting);
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);

    const expired = await read(waiting.id, staff);
    expect(expired).toMatchObject({ status: "EXPIRED", version: 2 });
    expect(expired.expiredAt).toBe(waiting.acceptBy);
    expect(await read(taken.id, staff)).toEqual(accepted);

    const log = await merchantLog(merchantId);
    expectGapless(log);
    expect(log.map((e) => [e.event, e.orderId])).toEqual([
      ["ORDER_CREATED", waiting.id],
      ["ORDER_CREATED", taken.id],
      ["MERCHANT_ACCEPTED", taken.id],
      ["ORDER_EXPIRED", waiting.id],
    ]);
    const trail = (await api<{ events: AuditEntry[] }>("GET", `/api/orders/${waiting.id}/events`, { token: staff }))
      .body.events;
    expect(trail.at(-1)).toMatchObject({ event: "ORDER_EXPIRED", via: "system", actor: { role: "system" } });
    expect(trail.at(-1)!.requestId).toBeUndefined();

    // Expired is final: the kitchen can no longer accept it, the customer no longer cancel it.
    expectError(
      await api("POST", `/api/merchants/${merchantId}/orders/${waiting.id}/accept`, { token: staff, body: {} }),
      409,
      "INVALID_TRANSITION",
    );
    expectError(
      await api("POST", `/api/orders/${waiting.id}/cancel`, { token: await tokens.customer(), body: { reason: "x" } }),
      409,
      "INVALID_TRANSITION",
    );

    // The expiry reaches the order room and D1 like any change.
    await flushOutbox(merchantId);
    expect((await orderStub(waiting.id).getOrder())?.status).toBe("EXPIRED");
    expect(await historyRow(waiting.id)).toMatchObject({ status: "EXPIRED", version: 2 });

    // Running the alarm again changes nothing: the deadline is spent.
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(await merchantLog(merchantId)).toEqual(log);
  });

  it("does nothing before acceptBy, not even 1 ms before", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    await atAcceptBy(merchantId, order, -1);
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);
    expect(await read(order.id, staff)).toEqual(order);
    expect(await merchantLog(merchantId)).toHaveLength(1);
  });

  it("honours the merchant's acceptWindowSeconds, and each order keeps the window it was placed with", async () => {
    const { merchantId, staff } = await setupMerchant({ acceptWindowSeconds: 60 });
    const dispatch = await tokens.dispatch();
    const short = await placeOrder(merchantId);
    expect(Date.parse(short.acceptBy) - Date.parse(short.placedAt)).toBe(60_000);
    await api("PUT", `/api/merchants/${merchantId}`, {
      token: dispatch,
      body: { name: "Test Kitchen", acceptWindowSeconds: 180 },
    });
    const medium = await placeOrder(merchantId);
    expect(Date.parse(medium.acceptBy) - Date.parse(medium.placedAt)).toBe(180_000);
    const other = await setupMerchant(); // default 600 s
    const slow = await placeOrder(other.merchantId);

    await atAcceptBy(merchantId, short);
    await atAcceptBy(other.merchantId, short);
    await runDurableObjectAlarm(merchantStub(merchantId));
    await runDurableObjectAlarm(merchantStub(other.merchantId));
    expect((await read(short.id, staff)).status).toBe("EXPIRED");
    expect((await read(medium.id, staff)).status).toBe("PLACED");
    expect((await read(slow.id, other.staff)).status).toBe("PLACED");

    await atAcceptBy(merchantId, medium);
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect((await read(medium.id, staff)).status).toBe("EXPIRED");
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "ORDER_CREATED",
      "ORDER_EXPIRED",
      "ORDER_EXPIRED",
    ]);
  });

  it("the deadline survives eviction (it lives in the room's storage, not in memory)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    await evictDurableObject(merchantStub(merchantId));
    await atAcceptBy(merchantId, order);
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);
    expect((await read(order.id, staff)).status).toBe("EXPIRED");
  });

  it("an order past acceptBy cannot be accepted even if the alarm is late: it expires first", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    await atAcceptBy(merchantId, order);
    // No alarm has run; the kitchen presses accept after the deadline.
    const res = await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, {
      token: staff,
      body: {},
      headers: { "Idempotency-Key": "late" },
    });
    expectError(res, 409, "INVALID_TRANSITION");
    expect((await read(order.id, staff)).status).toBe("EXPIRED");
    const log = await merchantLog(merchantId);
    expect(log.map((e) => [e.event, e.via, e.requestId])).toEqual([
      ["ORDER_CREATED", "rest", undefined],
      ["ORDER_EXPIRED", "system", undefined],
    ]);
    // The alarm, when it comes, has nothing left to do.
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(await merchantLog(merchantId)).toEqual(log);
  });
});
