/**
 * `/api/orders/...`: placing, reading, the audit trail, and the customer / dispatch / driver
 * changes — success, 400 (zod details), 404, 409, and the 403s that depend on an order's state.
 * (401 and 403 for every route and principal: security-auth.test.ts.)
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AuditTrailResponseSchema, OrderSchema, type AuditEntry, type Order } from "../../schema/index.ts";
import { expectError, expectJson, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, ITEMS, merchantStub, orderIn, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { type ApiOptions, api, uniqueId } from "./support/http.ts";
import { merchantLog, roomTables, setRoomClock, callerKeys } from "./support/room-seams.ts";
import { open } from "./support/sockets.ts";

const post = async (path: string, token: string, body?: unknown) =>
  api<Order>("POST", path, { token, ...(body !== undefined ? { body } : {}) });

describe("POST /api/orders", () => {
  it("201 with the whole order: PLACED, version 1, total, acceptBy from the merchant's window", async () => {
    const { merchantId } = await setupMerchant({ acceptWindowSeconds: 300 });
    const res = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer("cust-42"),
      body: { merchantId, items: ITEMS, notes: "  ring twice  " },
    });
    expectJson(res, 201);
    expect(OrderSchema.strict().safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
    expect(res.body).toMatchObject({
      merchantId,
      customerId: "cust-42",
      status: "PLACED",
      version: 1,
      items: ITEMS,
      totalCents: 2550,
      notes: "ring twice",
    });
    expect(res.body.id.startsWith(`${merchantId}.`)).toBe(true);
    expect(Date.parse(res.body.acceptBy) - Date.parse(res.body.placedAt)).toBe(300_000);
    expect(await merchantLog(merchantId)).toMatchObject([
      { seq: 1, event: "ORDER_CREATED", orderId: res.body.id, version: 1 },
    ]);
  });

  it("400 with zod details for every kind of bad body", async () => {
    const { merchantId } = await setupMerchant();
    const customer = await tokens.customer();
    const item = { name: "Tea", quantity: 1, unitPriceCents: 200 };
    const cases: [unknown, (string | number)[]][] = [
      [{ items: [item] }, ["merchantId"]],
      [{ merchantId: "no spaces allowed", items: [item] }, ["merchantId"]],
      [{ merchantId }, ["items"]],
      [{ merchantId, items: [] }, ["items"]],
      [{ merchantId, items: Array.from({ length: 101 }, () => item) }, ["items"]],
      [{ merchantId, items: [{ ...item, quantity: 0 }] }, ["items", 0, "quantity"]],
      [{ merchantId, items: [{ ...item, quantity: 100 }] }, ["items", 0, "quantity"]],
      [{ merchantId, items: [{ ...item, quantity: 1.5 }] }, ["items", 0, "quantity"]],
      [{ merchantId, items: [{ ...item, unitPriceCents: -1 }] }, ["items", 0, "unitPriceCents"]],
      [{ merchantId, items: [{ ...item, unitPriceCents: 9.99 }] }, ["items", 0, "unitPriceCents"]],
      [{ merchantId, items: [item, { ...item, name: "" }] }, ["items", 1, "name"]],
      [{ merchantId, items: [item], notes: "x".repeat(501) }, ["notes"]],
      [[item], []],
    ];
    for (const [body, path] of cases) {
      const res = await api("POST", "/api/orders", { token: customer, body });
      expectZod400(res, path.length ? path : undefined);
    }
    expect(await merchantLog(merchantId)).toEqual([]);
  });

  it("404 for a merchant that does not exist", async () => {
    const res = await api("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId: uniqueId("nobody"), items: ITEMS },
    });
    expectError(res, 404, "NOT_FOUND");
  });

  it("asking about merchants that do not exist leaves no storage behind, in the merchant room or in CallerKeys; creating one later just works", async () => {
    // Any caller with a token can name any merchant (an order id names one): each lookup must
    // not leave a Durable Object with tables behind, or a script could create them by the million.
    const ghost = uniqueId("ghost");
    const customerId = uniqueId("cust-ghost");
    const dispatchId = uniqueId("ops-ghost");
    const customer = await tokens.customer(customerId);
    const dispatch = await tokens.dispatch(dispatchId);
    const key = { "Idempotency-Key": `ghost-${ghost}` };
    const refused: [string, string, ApiOptions][] = [
      ["POST", "/api/orders", { token: customer, body: { merchantId: ghost, items: ITEMS } }],
      ["GET", `/api/orders/${ghost}.abc123`, { token: customer }],
      ["POST", `/api/orders/${ghost}.abc123/cancel`, { token: customer, body: { reason: "x" } }],
      ["POST", `/api/orders/${ghost}.abc123/cancel`, { token: dispatch, body: { reason: "x" } }],
      ["GET", `/api/merchants/${ghost}/orders`, { token: dispatch }],
    ];
    for (const [method, path, opts] of refused) expectError(await api(method, path, opts), 404, "NOT_FOUND", path);
    expect(await roomTables(ghost)).toEqual([]);
    expect(await callerKeys("customer", customerId)).toEqual({ created: false, keys: [] });
    expect(await callerKeys("dispatch", dispatchId)).toEqual({ created: false, keys: [] });
    // The same with an Idempotency-Key, as far as the merchant room goes (CallerKeys: the next test).
    expectError(
      await api("POST", "/api/orders", { token: customer, body: { merchantId: ghost, items: ITEMS }, headers: key }),
      404,
      "NOT_FOUND",
    );
    expect(await roomTables(ghost)).toEqual([]);

    // Set up for real, the same merchant works at once, and the key of the 404 is not held against it.
    expect(
      (await api("PUT", `/api/merchants/${ghost}`, { token: await tokens.dispatch(), body: { name: "Now open" } }))
        .status,
    ).toBe(201);
    expect(await roomTables(ghost)).toContain("orders");
    const placed = await api<Order>("POST", "/api/orders", {
      token: customer,
      body: { merchantId: ghost, items: ITEMS },
      headers: key,
    });
    expectJson(placed, 201);
    expect((await merchantLog(ghost)).map((e) => e.event)).toEqual(["ORDER_CREATED"]);
  });

  // The Worker binds a customer's or dispatch's Idempotency-Key to the merchant it names
  // (CallerKeys) before the merchant room answers; when the room says there is no such
  // merchant, the Worker unbinds it again.
  it("a refused request with an Idempotency-Key to an unknown merchant leaves no CallerKeys row", async () => {
    const ghost = uniqueId("ghost");
    const customerId = uniqueId("cust-ghost");
    const dispatchId = uniqueId("ops-ghost");
    const key = { "Idempotency-Key": `ghost-${ghost}` };
    expectError(
      await api("POST", "/api/orders", {
        token: await tokens.customer(customerId),
        body: { merchantId: ghost, items: ITEMS },
        headers: key,
      }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await api("POST", `/api/orders/${ghost}.abc123/cancel`, {
        token: await tokens.dispatch(dispatchId),
        body: { reason: "x" },
        headers: key,
      }),
      404,
      "NOT_FOUND",
    );
    expect(await roomTables(ghost)).toEqual([]);
    expect((await callerKeys("customer", customerId)).keys).toEqual([]);
    expect((await callerKeys("dispatch", dispatchId)).keys).toEqual([]);
  });
});

describe("GET /api/orders/:orderId", () => {
  it("200 for its customer, its merchant, its assigned driver and dispatch", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await orderIn(merchantId, "READY");
    await post(`/api/orders/${order.id}/driver`, await tokens.dispatch(), DRIVER);
    for (const token of [
      await tokens.customer(),
      staff,
      await tokens.merchant(merchantId, "another-screen"),
      await tokens.driver(DRIVER.driverId),
      await tokens.dispatch("ops-2"),
    ]) {
      const res = await api<Order>("GET", `/api/orders/${order.id}`, { token });
      expectJson(res, 200);
      expect(OrderSchema.strict().safeParse(res.body).success).toBe(true);
      expect(res.body).toMatchObject({
        id: order.id,
        status: "READY",
        version: order.version + 1,
        driver: { id: DRIVER.driverId },
      });
    }
  });

  it("a driver may read an order only while assigned to it: not before, not once replaced", async () => {
    const { merchantId } = await setupMerchant();
    const order = await orderIn(merchantId, "ACCEPTED");
    const path = `/api/orders/${order.id}`;
    const dispatch = await tokens.dispatch();
    expectError(await api("GET", path, { token: await tokens.driver("driver-1") }), 403, "FORBIDDEN"); // none assigned yet
    await post(`${path}/driver`, dispatch, { driverId: "driver-1", name: "Dana" });
    expect((await api("GET", path, { token: await tokens.driver("driver-1") })).status).toBe(200);
    await post(`${path}/driver`, dispatch, { driverId: "driver-2", name: "Sam" });
    for (const token of [await tokens.driver("driver-1"), await tokens.driver("driver-3")]) {
      expectError(await api("GET", path, { token }), 403, "FORBIDDEN");
    }
    expect((await api("GET", path, { token: await tokens.driver("driver-2") })).status).toBe(200);
  });
  it("400 for an id that is not an order id; 404 for one that does not exist", async () => {
    const { merchantId } = await setupMerchant();
    const dispatch = await tokens.dispatch();
    expectZod400(await api("GET", "/api/orders/no-dot-here", { token: dispatch }), ["orderId"]);
    expectZod400(await api("GET", "/api/orders/a.b-c", { token: dispatch }), ["orderId"]);
    expectError(await api("GET", `/api/orders/${merchantId}.missing`, { token: dispatch }), 404, "NOT_FOUND");
    expectError(await api("GET", `/api/orders/${uniqueId("nobody")}.missing`, { token: dispatch }), 404, "NOT_FOUND");
    expectError(
      await api("GET", `/api/orders/${merchantId}.missing`, { token: await tokens.customer() }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("GET /api/orders/:orderId/events", () => {
  it("the audit trail, oldest first: event, at, actor, via (rest, socket, system), requestId, order — for its merchant and dispatch", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId, await tokens.customer("cust-9"));
    const late = await placeOrder(merchantId);
    const screen = await open(`/ws/merchant/${merchantId}/orders`, {
      token: await tokens.merchant(merchantId, "screen-7"),
    });
    screen.send({ action: "MERCHANT_ACCEPT", requestId: "tap-1", payload: { orderId: order.id, prepMinutes: 5 } });
    await screen.next((e) => e.event === "ACK" && e.requestId === "tap-1");
    screen.close();
    await api("POST", `/api/orders/${order.id}/driver`, {
      token: await tokens.dispatch("ops-1"),
      body: DRIVER,
      headers: { "Idempotency-Key": "assign-1" },
    });
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/ready`, { token: staff });
    await api("POST", `/api/orders/${order.id}/pickup`, { token: await tokens.driver(DRIVER.driverId) });
    await setRoomClock(merchantId, Date.parse(late.acceptBy));
    await runDurableObjectAlarm(merchantStub(merchantId));

    const trail = async (id: string, token: string) => {
      const res = await api<{ events: AuditEntry[] }>("GET", `/api/orders/${id}/events`, { token });
      expectJson(res, 200);
      expect(AuditTrailResponseSchema.safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
      return res.body.events;
    };
    const events = await trail(order.id, staff);
    expect(
      events.map((e) => ({
        event: e.event,
        actor: e.actor,
        via: e.via,
        requestId: e.requestId,
        version: e.order.version,
      })),
    ).toEqual([
      {
        event: "ORDER_CREATED",
        actor: { role: "customer", id: "cust-9" },
        via: "rest",
        requestId: undefined,
        version: 1,
      },
      {
        event: "MERCHANT_ACCEPTED",
        actor: { role: "merchant", id: "screen-7" },
        via: "socket",
        requestId: "tap-1",
        version: 2,
      },
      {
        event: "DRIVER_ASSIGNED",
        actor: { role: "dispatch", id: "ops-1" },
        via: "rest",
        requestId: "assign-1",
        version: 3,
      },
      {
        event: "MERCHANT_READY",
        actor: { role: "merchant", id: "staff-1" },
        via: "rest",
        requestId: undefined,
        version: 4,
      },
      {
        event: "ORDER_PICKED_UP",
        actor: { role: "driver", id: DRIVER.driverId },
        via: "rest",
        requestId: undefined,
        version: 5,
      },
    ]);
    expect(await trail(order.id, await tokens.dispatch())).toEqual(events);
    expect(events.at(-1)!.order.status).toBe("PICKED_UP");
    const times = events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const expired = await trail(late.id, staff);
    expect(expired.map((e) => [e.event, e.via, e.actor.role])).toEqual([
      ["ORDER_CREATED", "rest", "customer"],
      ["ORDER_EXPIRED", "system", "system"],
    ]);
  });

  it("404 for an order that does not exist, 400 for an id that is not an order id", async () => {
    const { merchantId } = await setupMerchant();
    expectError(
      await api("GET", `/api/orders/${merchantId}.missing/events`, { token: await tokens.dispatch() }),
      404,
      "NOT_FOUND",
    );
    expectZod400(await api("GET", `/api/orders/nope/events`, { token: await tokens.dispatch() }), ["orderId"]);
  });
});

describe("POST /api/orders/:orderId/cancel", () => {
  it("200: its customer while PLACED; dispatch while PLACED..READY", async () => {
    const { merchantId } = await setupMerchant();
    const mine = await placeOrder(merchantId);
    const res = await post(`/api/orders/${mine.id}/cancel`, await tokens.customer(), { reason: "changed my mind" });
    expectJson(res, 200);
    expect(res.body).toMatchObject({
      status: "CANCELLED",
      version: 2,
      cancelReason: "changed my mind",
      cancelledBy: { role: "customer", id: "cust-1" },
    });
    for (const status of ["PLACED", "ACCEPTED", "PREPARING", "READY"] as const) {
      const o = await orderIn(merchantId, status);
      const c = await post(`/api/orders/${o.id}/cancel`, await tokens.dispatch("ops-3"), {
        reason: "courier shortage",
      });
      expect(c.status, status).toBe(200);
      expect(c.body).toMatchObject({
        status: "CANCELLED",
        version: o.version + 1,
        cancelledBy: { role: "dispatch", id: "ops-3" },
      });
    }
  });

  it("400 without a reason; 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const o = await placeOrder(merchantId);
    const path = `/api/orders/${o.id}/cancel`;
    expectZod400(await api("POST", path, { token: await tokens.customer(), body: {} }), ["reason"]);
    expectZod400(await api("POST", path, { token: await tokens.customer(), body: { reason: "" } }), ["reason"]);
    expectZod400(
      await api("POST", "/api/orders/bad/cancel", { token: await tokens.customer(), body: { reason: "x" } }),
      ["orderId"],
    );
    expectError(
      await post(`/api/orders/${merchantId}.missing/cancel`, await tokens.dispatch(), { reason: "x" }),
      404,
      "NOT_FOUND",
    );
    expect((await api("GET", `/api/orders/${o.id}`, { token: staff })).body.status).toBe("PLACED");
  });

  it("409: a customer once the kitchen accepted; anyone once picked up or final", async () => {
    const { merchantId } = await setupMerchant();
    const accepted = await orderIn(merchantId, "ACCEPTED");
    expectError(
      await post(`/api/orders/${accepted.id}/cancel`, await tokens.customer(), { reason: "x" }),
      409,
      "INVALID_TRANSITION",
    );
    for (const status of ["PICKED_UP", "DELIVERED", "REJECTED", "CANCELLED"] as const) {
      const o = await orderIn(merchantId, status);
      expectError(
        await post(`/api/orders/${o.id}/cancel`, await tokens.dispatch(), { reason: "x" }),
        409,
        "INVALID_TRANSITION",
      );
    }
  });
});

describe("POST /api/orders/:orderId/driver", () => {
  it("200: dispatch assigns and reassigns a driver, PLACED..READY", async () => {
    const { merchantId } = await setupMerchant();
    for (const status of ["PLACED", "ACCEPTED", "PREPARING", "READY"] as const) {
      const o = await orderIn(merchantId, status);
      const res = await post(`/api/orders/${o.id}/driver`, await tokens.dispatch(), {
        driverId: "driver-5",
        name: "Lee",
        etaMinutes: 7,
      });
      expectJson(res, 200);
      expect(res.body).toMatchObject({
        status,
        version: o.version + 1,
        driver: { id: "driver-5", name: "Lee", etaMinutes: 7 },
      });
      expect(res.body.driver?.assignedAt).toBeDefined();
    }
    const o = await placeOrder(merchantId);
    await post(`/api/orders/${o.id}/driver`, await tokens.dispatch(), { driverId: "driver-5", name: "Lee" });
    const again = await post(`/api/orders/${o.id}/driver`, await tokens.dispatch(), {
      driverId: "driver-6",
      name: "Kim",
    });
    expect(again.body.driver).toMatchObject({ id: "driver-6", name: "Kim" });
    expect(again.body.driver?.etaMinutes).toBeUndefined();
  });

  it("400 for a bad driver; 404; 409 once picked up or final", async () => {
    const { merchantId, staff } = await setupMerchant();
    const o = await placeOrder(merchantId);
    const path = `/api/orders/${o.id}/driver`;
    const dispatch = await tokens.dispatch();
    expectZod400(await api("POST", path, { token: dispatch, body: { name: "Lee" } }), ["driverId"]);
    expectZod400(await api("POST", path, { token: dispatch, body: { driverId: "has space", name: "Lee" } }), [
      "driverId",
    ]);
    expectZod400(await api("POST", path, { token: dispatch, body: { driverId: "d", name: "" } }), ["name"]);
    expectZod400(await api("POST", path, { token: dispatch, body: { driverId: "d", name: "Lee", etaMinutes: -1 } }), [
      "etaMinutes",
    ]);
    expectZod400(await api("POST", path, { token: dispatch, body: { driverId: "d", name: "Lee", etaMinutes: 601 } }), [
      "etaMinutes",
    ]);
    expectError(await post(`/api/orders/${merchantId}.missing/driver`, dispatch, DRIVER), 404, "NOT_FOUND");
    for (const status of ["PICKED_UP", "DELIVERED", "REJECTED", "CANCELLED"] as const) {
      const done = await orderIn(merchantId, status);
      expectError(
        await post(`/api/orders/${done.id}/driver`, dispatch, { driverId: "driver-9", name: "Late" }),
        409,
        "INVALID_TRANSITION",
      );
    }
    expect((await api("GET", `/api/orders/${o.id}`, { token: staff })).body.version).toBe(1);
  });
});

describe("the assigned driver: arrived, pickup, deliver", () => {
  it("200: arrived (ACCEPTED..READY, once), pickup (READY), deliver (PICKED_UP)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const o = await orderIn(merchantId, "ACCEPTED");
    await post(`/api/orders/${o.id}/driver`, await tokens.dispatch(), DRIVER);
    const driver = await tokens.driver(DRIVER.driverId);
    const arrived = await post(`/api/orders/${o.id}/arrived`, driver);
    expectJson(arrived, 200);
    expect(arrived.body).toMatchObject({ status: "ACCEPTED", version: 4, driver: { id: DRIVER.driverId } });
    expect(arrived.body.driver?.arrivedAt).toBeDefined();
    expectError(await post(`/api/orders/${o.id}/arrived`, driver), 409, "CONFLICT");

    await post(`/api/merchants/${merchantId}/orders/${o.id}/ready`, staff);
    const picked = await post(`/api/orders/${o.id}/pickup`, driver);
    expectJson(picked, 200);
    expect(picked.body).toMatchObject({ status: "PICKED_UP", version: 6 });
    expect(picked.body.pickedUpAt).toBeDefined();
    const delivered = await post(`/api/orders/${o.id}/deliver`, driver);
    expectJson(delivered, 200);
    expect(delivered.body).toMatchObject({ status: "DELIVERED", version: 7 });
    expect(delivered.body.deliveredAt).toBeDefined();
  });

  it("403 for a driver before one is assigned, and for the one replaced", async () => {
    const { merchantId, staff } = await setupMerchant();
    const ready = await orderIn(merchantId, "READY");
    const dispatch = await tokens.dispatch();
    // No driver assigned yet: no driver may act.
    for (const action of ["arrived", "pickup"])
      expectError(
        await post(`/api/orders/${ready.id}/${action}`, await tokens.driver(DRIVER.driverId)),
        403,
        "FORBIDDEN",
      );
    await post(`/api/orders/${ready.id}/driver`, dispatch, DRIVER);
    await post(`/api/orders/${ready.id}/driver`, dispatch, { driverId: "driver-2", name: "Sam" });
    for (const action of ["arrived", "pickup"])
      expectError(
        await post(`/api/orders/${ready.id}/${action}`, await tokens.driver(DRIVER.driverId)),
        403,
        "FORBIDDEN",
      );
    expect((await api("GET", `/api/orders/${ready.id}`, { token: staff })).body).toMatchObject({
      status: "READY",
      driver: { id: "driver-2" },
    });
  });
  it("409 in the wrong status; 404; 400", async () => {
    const { merchantId } = await setupMerchant();
    const dispatch = await tokens.dispatch();
    const driver = await tokens.driver(DRIVER.driverId);
    const placed = await placeOrder(merchantId);
    await post(`/api/orders/${placed.id}/driver`, dispatch, DRIVER);
    const accepted = await orderIn(merchantId, "ACCEPTED");
    await post(`/api/orders/${accepted.id}/driver`, dispatch, DRIVER);
    const delivered = await orderIn(merchantId, "DELIVERED");

    expectError(await post(`/api/orders/${placed.id}/arrived`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${placed.id}/pickup`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${accepted.id}/pickup`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${accepted.id}/deliver`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${delivered.id}/arrived`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${delivered.id}/pickup`, driver), 409, "INVALID_TRANSITION");
    expectError(await post(`/api/orders/${delivered.id}/deliver`, driver), 409, "INVALID_TRANSITION");

    for (const action of ["arrived", "pickup", "deliver"]) {
      expectError(await post(`/api/orders/${merchantId}.missing/${action}`, driver), 404, "NOT_FOUND");
      expectZod400(await api("POST", `/api/orders/not_an_order/${action}`, { token: driver }), ["orderId"]);
    }
  });
});
