/**
 * Idempotency (REST `Idempotency-Key`, socket `requestId`, one namespace per caller): a repeat
 * returns the first answer and changes nothing — also for results of megabytes, also after an
 * eviction; the same key with another body is 422, also at another merchant; keys are kept at
 * least 24 h.
 */
import { describe, expect, it } from "vitest";
import type { AuditEntry, BulkItemResult, Order } from "../../schema/index.ts";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { expectError, expectGapless, expectJson } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { ITEMS, merchantStub, orderIn, placeOrder, placeOrders, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { advanceRoomClock, merchantLog, setRoomClock, storedResults } from "./support/room-seams.ts";
import { checkAndClose } from "./support/frames.ts";
import { act, barrier, openMerchantSocket, rid } from "./support/sockets.ts";

const DAY = 24 * 60 * 60_000;

const withKey = (key: string) => ({ "Idempotency-Key": key });

async function trail(orderId: string): Promise<AuditEntry[]> {
  const res = await api<{ events: AuditEntry[] }>("GET", `/api/orders/${orderId}/events`, {
    token: await tokens.dispatch(),
  });
  expect(res.status).toBe(200);
  return res.body.events;
}

describe("Idempotency-Key", () => {
  it("the same accept three times: one transition, one event, the same response each time", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const path = `/api/merchants/${merchantId}/orders/${order.id}/accept`;
    const responses = [];
    for (let i = 0; i < 3; i++)
      responses.push(
        await api<Order>("POST", path, { token: staff, body: { prepMinutes: 11 }, headers: withKey("accept-once") }),
      );
    for (const r of responses) {
      expectJson(r, 200);
      expect(r.body).toEqual(responses[0]!.body);
    }
    expect(responses[0]!.body).toMatchObject({ status: "ACCEPTED", version: 2, prepMinutes: 11 });

    const log = await merchantLog(merchantId);
    expectGapless(log);
    expect(log.map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED"]);
    expect(log[1]!.requestId).toBe("accept-once");
    const events = await trail(order.id);
    expect(events.map((e) => [e.event, e.requestId])).toEqual([
      ["ORDER_CREATED", undefined],
      ["MERCHANT_ACCEPTED", "accept-once"],
    ]);
    expect((await api<Order>("GET", `/api/orders/${order.id}`, { token: staff })).body.version).toBe(2);
  });

  it("three concurrent repeats are still one transition", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const path = `/api/merchants/${merchantId}/orders/${order.id}/ready`;
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff });
    const responses = await Promise.all(
      [0, 1, 2].map(() => api<Order>("POST", path, { token: staff, headers: withKey("ready-k") })),
    );
    for (const r of responses) {
      expect(r.status).toBe(200);
      expect(r.body).toEqual(responses[0]!.body);
    }
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "MERCHANT_READY",
    ]);
  });

  it("placing an order three times with one key creates one order (201 each time)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const customer = await tokens.customer();
    const body = { merchantId, items: ITEMS };
    const responses = [];
    for (let i = 0; i < 3; i++)
      responses.push(
        await api<Order>("POST", "/api/orders", { token: customer, body, headers: withKey("checkout-123") }),
      );
    for (const r of responses) {
      expectJson(r, 201);
      expect(r.body).toEqual(responses[0]!.body);
    }
    expect(await merchantLog(merchantId)).toHaveLength(1);
    const board = await api("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(board.body.orders.map((o: Order) => o.id)).toEqual([responses[0]!.body.id]);
  });

  it("a bulk repeated with its key moves nothing the second and third time", async () => {
    const { merchantId, staff } = await setupMerchant();
    const a = await placeOrder(merchantId);
    const b = await placeOrder(merchantId);
    const body = { action: "accept", orderIds: [a.id, b.id] };
    const responses = [];
    for (let i = 0; i < 3; i++) {
      responses.push(
        await api<{ results: BulkItemResult[] }>("POST", `/api/merchants/${merchantId}/orders/bulk`, {
          token: staff,
          body,
          headers: withKey("bulk-1"),
        }),
      );
    }
    for (const r of responses) expect(r.body).toEqual(responses[0]!.body);
    expect(responses[0]!.body.results.every((r) => r.ok)).toBe(true);
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "MERCHANT_ACCEPTED",
    ]);
  });

  it("a refusal is a response too: its repeat is the same refusal, even once the change would succeed", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const path = `/api/merchants/${merchantId}/orders/${order.id}/prep-time`;
    const first = await api("POST", path, { token: staff, body: { prepMinutes: 20 }, headers: withKey("prep-1") });
    expectError(first, 409, "INVALID_TRANSITION");
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff });
    const repeat = await api("POST", path, { token: staff, body: { prepMinutes: 20 }, headers: withKey("prep-1") });
    expect(repeat.status).toBe(409);
    expect(repeat.body).toEqual(first.body);
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED"]);
    // A new key does the change.
    expect(
      (await api("POST", path, { token: staff, body: { prepMinutes: 20 }, headers: withKey("prep-2") })).status,
    ).toBe(200);
  });

  it("the same key with another body, order or operation is 422 IDEMPOTENCY_MISMATCH and changes nothing", async () => {
    const { merchantId, staff } = await setupMerchant();
    const a = await placeOrder(merchantId);
    const b = await placeOrder(merchantId);
    const m = `/api/merchants/${merchantId}/orders`;
    expect(
      (await api("POST", `${m}/${a.id}/accept`, { token: staff, body: { prepMinutes: 10 }, headers: withKey("k1") }))
        .status,
    ).toBe(200);
    const before = await merchantLog(merchantId);

    expectError(
      await api("POST", `${m}/${a.id}/accept`, { token: staff, body: { prepMinutes: 25 }, headers: withKey("k1") }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expectError(
      await api("POST", `${m}/${a.id}/accept`, { token: staff, body: {}, headers: withKey("k1") }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expectError(
      await api("POST", `${m}/${b.id}/accept`, { token: staff, body: { prepMinutes: 10 }, headers: withKey("k1") }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expectError(
      await api("POST", `${m}/${a.id}/preparing`, { token: staff, headers: withKey("k1") }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expectError(
      await api("POST", `${m}/bulk`, {
        token: staff,
        body: { action: "accept", orderIds: [b.id] },
        headers: withKey("k1"),
      }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );

    expect(await merchantLog(merchantId)).toEqual(before);
    expect((await api<Order>("GET", `/api/orders/${b.id}`, { token: staff })).body.status).toBe("PLACED");
    expect((await api<Order>("GET", `/api/orders/${a.id}`, { token: staff })).body).toMatchObject({
      status: "ACCEPTED",
      prepMinutes: 10,
    });

    // A different order body on place is a mismatch too.
    const customer = await tokens.customer();
    expect(
      (
        await api("POST", "/api/orders", {
          token: customer,
          body: { merchantId, items: ITEMS },
          headers: withKey("place-k"),
        })
      ).status,
    ).toBe(201);
    expectError(
      await api("POST", "/api/orders", {
        token: customer,
        body: { merchantId, items: ITEMS, notes: "and fries" },
        headers: withKey("place-k"),
      }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
  });

  it("keys are scoped to the caller: another caller's identical key is independent", async () => {
    const { merchantId } = await setupMerchant();
    const staff1 = await tokens.merchant(merchantId, "screen-1");
    const staff2 = await tokens.merchant(merchantId, "screen-2");
    const a = await placeOrder(merchantId);
    const b = await placeOrder(merchantId);
    const m = `/api/merchants/${merchantId}/orders`;

    const one = await api<Order>("POST", `${m}/${a.id}/accept`, {
      token: staff1,
      body: {},
      headers: withKey("shared"),
    });
    expect(one.status).toBe(200);
    // Another screen, same key, another order: not a mismatch, a change of its own.
    const two = await api<Order>("POST", `${m}/${b.id}/accept`, {
      token: staff2,
      body: {},
      headers: withKey("shared"),
    });
    expect(two.status).toBe(200);
    expect(two.body.id).toBe(b.id);
    // Another screen, same key, same request as screen-1's: not screen-1's replay — a real (refused) attempt.
    expectError(
      await api("POST", `${m}/${a.id}/accept`, { token: staff2, body: {}, headers: withKey("other") }),
      409,
      "INVALID_TRANSITION",
    );
    const three = await api("POST", `${m}/${a.id}/accept`, {
      token: await tokens.merchant(merchantId, "screen-3"),
      body: {},
      headers: withKey("shared"),
    });
    expectError(three, 409, "INVALID_TRANSITION");

    // Two customers with the same key each get their own order.
    const c1 = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer("cust-a"),
      body: { merchantId, items: ITEMS },
      headers: withKey("checkout"),
    });
    const c2 = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer("cust-b"),
      body: { merchantId, items: ITEMS },
      headers: withKey("checkout"),
    });
    expect(c1.status).toBe(201);
    expect(c2.status).toBe(201);
    expect(c1.body.id).not.toBe(c2.body.id);
    expect([c1.body.customerId, c2.body.customerId]).toEqual(["cust-a", "cust-b"]);

    // Same sub, different role: a dispatch "shared" key does not replay a merchant's.
    const cancel = await api<Order>("POST", `/api/orders/${b.id}/cancel`, {
      token: await tokens.dispatch("screen-1"),
      body: { reason: "x" },
      headers: withKey("shared"),
    });
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe("CANCELLED");

    const log = await merchantLog(merchantId);
    expectGapless(log);
    expect(log.map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "MERCHANT_ACCEPTED",
      "ORDER_CREATED",
      "ORDER_CREATED",
      "ORDER_CANCELLED",
    ]);
  });

  it("a caller's key is theirs across merchants: reused at another merchant it is 422 and changes nothing there", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const customer = await tokens.customer(`cust-${crypto.randomUUID()}`);
    const key = `checkout-${crypto.randomUUID()}`;
    const first = await api<Order>("POST", "/api/orders", {
      token: customer,
      body: { merchantId: a.merchantId, items: ITEMS },
      headers: withKey(key),
    });
    expect(first.status).toBe(201);
    // The app reuses the key for a checkout at another restaurant: a client bug the contract answers with 422.
    expectError(
      await api("POST", "/api/orders", {
        token: customer,
        body: { merchantId: b.merchantId, items: ITEMS },
        headers: withKey(key),
      }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expect(await merchantLog(b.merchantId)).toEqual([]);
    // At the first merchant the key still replays its first answer.
    const again = await api<Order>("POST", "/api/orders", {
      token: customer,
      body: { merchantId: a.merchantId, items: ITEMS },
      headers: withKey(key),
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await merchantLog(a.merchantId)).length).toBe(1);

    // Dispatch cancelling at two merchants under one key: the second is refused, its order untouched.
    const dispatch = await tokens.dispatch(`ops-${crypto.randomUUID()}`);
    const atB = await placeOrder(b.merchantId);
    const cancelKey = `cancel-${crypto.randomUUID()}`;
    expect(
      (
        await api("POST", `/api/orders/${first.body.id}/cancel`, {
          token: dispatch,
          body: { reason: "x" },
          headers: withKey(cancelKey),
        })
      ).status,
    ).toBe(200);
    expectError(
      await api("POST", `/api/orders/${atB.id}/cancel`, {
        token: dispatch,
        body: { reason: "x" },
        headers: withKey(cancelKey),
      }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    expect((await merchantStub(b.merchantId).getOrder(atB.id))?.status).toBe("PLACED");
    // Without a key, or with a fresh one, the same caller acts at the other merchant as usual.
    expect(
      (
        await api("POST", `/api/orders/${atB.id}/cancel`, {
          token: dispatch,
          body: { reason: "x" },
          headers: withKey(`${cancelKey}-b`),
        })
      ).status,
    ).toBe(200);
  });

  it("the key is 1..255 characters", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await orderIn(merchantId, "PLACED");
    const path = `/api/merchants/${merchantId}/orders/${order.id}/accept`;
    expectError(
      await api("POST", path, { token: staff, body: {}, headers: withKey("k".repeat(256)) }),
      400,
      "BAD_REQUEST",
    );
    expect((await merchantLog(merchantId)).length).toBe(1);
    const ok = await api<Order>("POST", path, { token: staff, body: {}, headers: withKey("k".repeat(255)) });
    expect(ok.status).toBe(200);
    expect((await merchantLog(merchantId)).at(-1)!.requestId).toBe("k".repeat(255));
  });

  it("PUT /api/merchants is a mutating request too: a repeat answers the first response (201), another body is 422", async () => {
    const merchantId = `m-put-${crypto.randomUUID().slice(0, 8)}`;
    const dispatch = await tokens.dispatch();
    const body = { name: "Ramen Ya", acceptWindowSeconds: 300 };
    const first = await api("PUT", `/api/merchants/${merchantId}`, {
      token: dispatch,
      body,
      headers: withKey("create-ramen"),
    });
    expectJson(first, 201);
    const again = await api("PUT", `/api/merchants/${merchantId}`, {
      token: dispatch,
      body,
      headers: withKey("create-ramen"),
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expectError(
      await api("PUT", `/api/merchants/${merchantId}`, {
        token: dispatch,
        body: { name: "Sushi Ya" },
        headers: withKey("create-ramen"),
      }),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    // Without a key (or with a new one) a PUT is a plain update: 200.
    const update = await api("PUT", `/api/merchants/${merchantId}`, { token: dispatch, body: { name: "Ramen Ya 2" } });
    expect(update.status).toBe(200);
    expect(update.body).toMatchObject({ name: "Ramen Ya 2", acceptWindowSeconds: 300 });
  });

  it("keys survive eviction and are kept at least 24 hours", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await orderIn(merchantId, "ACCEPTED");
    const path = `/api/merchants/${merchantId}/orders/${order.id}/ready`;
    // The key is stored at a known instant of the room's clock.
    const storedAt = Date.now() + 60_000;
    await setRoomClock(merchantId, storedAt);
    const first = await api<Order>("POST", path, { token: staff, headers: withKey("ready-once") });
    expect(first.status).toBe(200);
    const events = (await merchantLog(merchantId)).length;

    await evictDurableObject(merchantStub(merchantId));
    const afterEviction = await api<Order>("POST", path, { token: staff, headers: withKey("ready-once") });
    expect(afterEviction.status).toBe(200);
    expect(afterEviction.body).toEqual(first.body);

    // 24 hours to the millisecond after it was stored (the alarm's housekeeping has run), the
    // key still answers the first response.
    await setRoomClock(merchantId, storedAt + DAY);
    await runDurableObjectAlarm(merchantStub(merchantId));
    const dayLater = await api<Order>("POST", path, { token: staff, headers: withKey("ready-once") });
    expect(dayLater.status).toBe(200);
    expect(dayLater.body).toEqual(first.body);
    expect((await merchantLog(merchantId)).length).toBe(events);

    // Long after, the key may be forgotten: the same request is then decided afresh (and refused,
    // the order being READY already) — never replayed as a different change.
    await setRoomClock(merchantId, storedAt + 4 * DAY);
    await runDurableObjectAlarm(merchantStub(merchantId));
    const muchLater = await api("POST", path, { token: staff, headers: withKey("ready-once") });
    expect([200, 409]).toContain(muchLater.status);
    expect((await merchantLog(merchantId)).length).toBe(events);
  });
});

describe("requestId: the socket's idempotency key, in the same namespace", () => {
  it("requestId is the idempotency key: a repeat answers the first reply and changes nothing; reuse with another action is refused", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);
    const watcher = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-2"));
    const key = rid("once");

    const first = await act(screen, "MERCHANT_ACCEPT", { orderId: order.id, prepMinutes: 9 }, key);
    screen.send({ action: "MERCHANT_ACCEPT", requestId: key, payload: { orderId: order.id, prepMinutes: 9 } });
    await screen.until(
      (envs) => envs.filter((e) => e.requestId === key && e.event === "ACK").length === 2,
      10_000,
      "second ACK",
    );
    const acks = screen.envelopes.filter((e) => e.event === "ACK" && e.requestId === key);
    expect(acks[1].payload).toEqual(first.payload);

    const mismatch = await act(screen, "MERCHANT_MARK_READY", { orderId: order.id }, key);
    expect(mismatch).toMatchObject({ event: "ERROR", requestId: key, payload: { code: "IDEMPOTENCY_MISMATCH" } });

    // The same key over REST, same operation and body: the first response, still no change.
    const rest = await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, {
      token: staff,
      body: { prepMinutes: 9 },
      headers: { "Idempotency-Key": key },
    });
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual(first.payload.order);

    await barrier(watcher);
    expect(watcher.stream().map((e) => e.event)).toEqual(["MERCHANT_ACCEPTED"]);
    // Keys are per caller: another staff member may use the same string for its own action.
    const other = await act(watcher, "MERCHANT_MARK_READY", { orderId: order.id }, key);
    expect(other).toMatchObject({ event: "ACK", payload: { order: { status: "READY", version: 3 } } });
    checkAndClose("merchant", screen, watcher);
  });

  it("a repeated bulk answers exactly its first BULK_RESULT, also when that result is megabytes of astral characters", async () => {
    const { merchantId, staff } = await setupMerchant();
    // 🍕 and 🌶️ are surrogate pairs: a stored result cut into parts must never split one.
    const items = Array.from({ length: 40 }, (_, i) => ({
      name: `${"🍕".repeat(99)}${i}`,
      quantity: 1,
      unitPriceCents: 500,
      notes: `${"🌶".repeat(249)}${i}`,
    }));
    const orders = await placeOrders(merchantId, 40, items, "emoji");
    const sender = await openMerchantSocket(merchantId, staff);
    const requestId = rid("emoji-bulk");
    const first = await act(
      sender,
      "BULK_ACCEPT",
      { orderIds: orders.map((o) => o.id), prepMinutes: 30 },
      requestId,
      60_000,
    );
    expect(first.payload.results.every((r: any) => r.ok)).toBe(true);
    expect(JSON.stringify(first.payload).length).toBeGreaterThan(1_000_000);
    const again = await act(
      sender,
      "BULK_ACCEPT",
      { orderIds: orders.map((o) => o.id), prepMinutes: 30 },
      requestId,
      60_000,
    );
    expect(again.payload).toEqual(first.payload);
    await evictDurableObject(merchantStub(merchantId));
    const repeat = await act(
      sender,
      "BULK_ACCEPT",
      { orderIds: orders.map((o) => o.id), prepMinutes: 30 },
      requestId,
      60_000,
    );
    expect(repeat.payload).toEqual(first.payload);
    expect(repeat.payload.results[7].order.items[3].notes).toBe(`${"🌶".repeat(249)}3`);
    const rest = await api("POST", `/api/merchants/${merchantId}/orders/bulk`, {
      token: staff,
      body: { action: "accept", orderIds: orders.map((o) => o.id), prepMinutes: 30 },
      headers: { "Idempotency-Key": requestId },
    });
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual(first.payload);
    await barrier(sender);
    expect(sender.stream()).toHaveLength(40);

    // Once the key expires (kept at least 24 h), housekeeping drops the result and all its parts.
    expect(await storedResults(merchantId)).toBeGreaterThan(1);
    await advanceRoomClock(merchantId, 26 * 60 * 60 * 1000);
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);
    expect(await storedResults(merchantId)).toBe(0);
    checkAndClose("merchant", sender);
  }, 180_000);
});
