/**
 * The live rooms' basic promises (CONTRACT.md "WebSockets"): every screen of a merchant sees
 * every change once, in seq order; the sender also gets its reply; the customer's order room
 * streams the order's whole life; a snapshot is the board at exactly its seq.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { setRoomClock } from "./support/room-seams.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import {
  act,
  barrier,
  customerWatching,
  openMerchantSocket,
  openOrderSocket,
  openOrderSocketFromStart,
  rid,
  streamCount,
} from "./support/sockets.ts";

describe("merchant room: several screens", () => {
  it("an action from one screen reaches all three as one stream event each, with consecutive seq; the sender gets its ACK", async () => {
    const { merchantId } = await setupMerchant();
    const screens = await Promise.all(
      ["staff-a", "staff-b", "staff-c"].map(async (staff) =>
        openMerchantSocket(merchantId, await tokens.merchant(merchantId, staff)),
      ),
    );
    const [a, b, c] = screens as [(typeof screens)[0], (typeof screens)[0], (typeof screens)[0]];
    for (const s of screens)
      expect(s.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: 0, payload: { orders: [] } });

    const order = await placeOrder(merchantId);
    for (const s of screens) {
      const [created] = await streamCount(s, 1);
      expect(created).toMatchObject({
        event: "ORDER_CREATED",
        seq: 1,
        payload: { order: { id: order.id, status: "PLACED", version: 1 } },
      });
      expect(created.payload.actor).toEqual({ role: "customer", id: "cust-1" });
    }

    const acceptId = rid("accept");
    const ack = await act(a, "MERCHANT_ACCEPT", { orderId: order.id, prepMinutes: 12 }, acceptId);
    expect(ack).toMatchObject({
      event: "ACK",
      requestId: acceptId,
      payload: { order: { id: order.id, status: "ACCEPTED", version: 2, prepMinutes: 12 } },
    });
    expect(ack.seq).toBeUndefined();

    for (const s of screens) {
      const events = await streamCount(s, 2);
      expect(events).toHaveLength(2);
      expect(events[1]).toMatchObject({
        event: "MERCHANT_ACCEPTED",
        seq: 2,
        requestId: acceptId,
        payload: {
          order: { id: order.id, status: "ACCEPTED", version: 2, prepMinutes: 12 },
          actor: { role: "merchant", id: "staff-a" },
        },
      });
    }

    // A second action from another screen: the next seq, on every screen, once.
    const prepId = rid("prep");
    const ack2 = await act(b, "MERCHANT_MARK_PREPARING", { orderId: order.id }, prepId);
    expect(ack2).toMatchObject({
      event: "ACK",
      requestId: prepId,
      payload: { order: { status: "PREPARING", version: 3 } },
    });
    for (const s of screens) {
      await streamCount(s, 3);
      await barrier(s);
      const events = s.stream();
      expect(events.map((e) => [e.event, e.seq])).toEqual([
        ["ORDER_CREATED", 1],
        ["MERCHANT_ACCEPTED", 2],
        ["MERCHANT_PREPARING", 3],
      ]);
      expect(events[2].requestId).toBe(prepId);
      expect(events[2].payload.actor).toEqual({ role: "merchant", id: "staff-b" });
    }

    // Replies go only to the socket that asked.
    const replies = (s: typeof a) => s.envelopes.filter((e) => e.event === "ACK").map((e) => e.requestId);
    expect(replies(a)).toEqual([acceptId]);
    expect(replies(b)).toEqual([prepId]);
    expect(replies(c)).toEqual([]);

    for (const s of screens) checkFrames(s, "merchant");
    for (const s of screens) s.close();
  });

  it("a screen that connects later opens on the active board at the room's seq, then live events from seq + 1", async () => {
    const { merchantId, staff } = await setupMerchant();
    const first = await placeOrder(merchantId);
    const second = await placeOrder(merchantId);
    const third = await placeOrder(merchantId);
    const early = await openMerchantSocket(merchantId, staff);
    await act(early, "MERCHANT_REJECT", { orderId: second.id, reason: "out of dough" });
    await act(early, "MERCHANT_ACCEPT", { orderId: first.id });

    const late = await openMerchantSocket(merchantId, staff);
    const [snapshot] = checkFrames(late, "merchant");
    const list = await api("GET", `/api/merchants/${merchantId}/orders?status=active`, { token: staff });
    expect(snapshot.seq).toBe(5);
    expect(snapshot.seq).toBe(list.body.seq);
    expect(typeof snapshot.payload.epoch).toBe("string");
    // Active only (the rejected one is gone), oldest first, each at its latest version.
    expect(snapshot.payload.orders.map((o: any) => [o.id, o.status, o.version])).toEqual([
      [first.id, "ACCEPTED", 2],
      [third.id, "PLACED", 1],
    ]);
    expect(snapshot.payload.orders).toEqual(list.body.orders);
    // An addition to the contract: the screen learns which kitchen it is on.
    expect(snapshot.payload.merchant).toMatchObject({ id: merchantId, name: "Test Kitchen" });

    await act(early, "MERCHANT_MARK_READY", { orderId: first.id });
    const [ready] = await streamCount(late, 1);
    expect(ready).toMatchObject({ event: "MERCHANT_READY", seq: 6 });
    checkAndClose("merchant", late, early);
  });

  it("every merchant action over the socket is its REST twin: same result, same event, audit trail says socket", async () => {
    const { merchantId, staff } = await setupMerchant({ defaultPrepMinutes: 20 });
    const viaSocket = await placeOrder(merchantId);
    const viaRest = await placeOrder(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);

    const steps: Array<{
      action: Parameters<typeof act>[1];
      path: string;
      body: Record<string, unknown>;
      event: string;
    }> = [
      { action: "MERCHANT_ACCEPT", path: "accept", body: {}, event: "MERCHANT_ACCEPTED" },
      { action: "MERCHANT_UPDATE_PREP_TIME", path: "prep-time", body: { prepMinutes: 33 }, event: "PREP_TIME_UPDATED" },
      { action: "MERCHANT_MARK_PREPARING", path: "preparing", body: {}, event: "MERCHANT_PREPARING" },
      { action: "MERCHANT_MARK_READY", path: "ready", body: {}, event: "MERCHANT_READY" },
    ];
    const strip = (o: any) => {
      const { id, placedAt, acceptBy, updatedAt, acceptedAt, readyBy, preparingAt, readyAt, ...rest } = o;
      return rest;
    };
    for (const step of steps) {
      const ack = await act(screen, step.action, { orderId: viaSocket.id, ...step.body });
      expect(ack.event, JSON.stringify(ack)).toBe("ACK");
      const key = rid("rest");
      const res = await api("POST", `/api/merchants/${merchantId}/orders/${viaRest.id}/${step.path}`, {
        token: staff,
        body: step.body,
        headers: { "Idempotency-Key": key },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(strip(ack.payload.order)).toEqual(strip(res.body));
      const events = screen.stream().slice(-2);
      expect(events.map((e) => e.event)).toEqual([step.event, step.event]);
      expect(events[1].requestId).toBe(key);
    }
    expect(screen.stream().find((e) => e.event === "MERCHANT_ACCEPTED").payload.order.prepMinutes).toBe(20);

    // Reject too (on a fresh order), both ways.
    const r1 = await placeOrder(merchantId);
    const r2 = await placeOrder(merchantId);
    const rejectAck = await act(screen, "MERCHANT_REJECT", { orderId: r1.id, reason: "closing early" });
    const rejectRest = await api("POST", `/api/merchants/${merchantId}/orders/${r2.id}/reject`, {
      token: staff,
      body: { reason: "closing early" },
    });
    expect(rejectAck.payload.order).toMatchObject({ status: "REJECTED", rejectReason: "closing early" });
    expect(rejectRest.body).toMatchObject({ status: "REJECTED", rejectReason: "closing early" });

    const trail = await api("GET", `/api/orders/${viaSocket.id}/events`, { token: staff });
    expect(trail.status).toBe(200);
    expect(trail.body.events.map((e: any) => [e.event, e.via])).toEqual([
      ["ORDER_CREATED", "rest"],
      ["MERCHANT_ACCEPTED", "socket"],
      ["PREP_TIME_UPDATED", "socket"],
      ["MERCHANT_PREPARING", "socket"],
      ["MERCHANT_READY", "socket"],
    ]);
    for (const e of trail.body.events.slice(1)) expect(e.requestId).toMatch(/^r-/);
    checkAndClose("merchant", screen);
  });

  it("changes made by the system and by customers reach the screens and the customer too (ORDER_EXPIRED, ORDER_CANCELLED)", async () => {
    const { merchantId, staff } = await setupMerchant({ acceptWindowSeconds: 60 });
    const customerToken = await tokens.customer("cust-expiry");
    const late = await placeOrder(merchantId, customerToken);
    const changed = await placeOrder(merchantId, customerToken);
    await flushOutbox(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);
    const phone = await openOrderSocketFromStart(late.id, customerToken);
    const otherPhone = await openOrderSocketFromStart(changed.id, customerToken);

    const cancel = await api("POST", `/api/orders/${changed.id}/cancel`, {
      token: customerToken,
      body: { reason: "ordered twice" },
    });
    expect(cancel.status).toBe(200);
    await setRoomClock(merchantId, Date.parse(late.acceptBy));
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);

    const events = await streamCount(screen, 2);
    expect(events.map((e) => [e.event, e.payload.order.id, e.payload.actor])).toEqual([
      ["ORDER_CANCELLED", changed.id, { role: "customer", id: "cust-expiry" }],
      ["ORDER_EXPIRED", late.id, { role: "system", id: "acceptance-deadline" }],
    ]);
    const expired = (await streamCount(phone, 2))[1];
    expect(expired).toMatchObject({
      event: "ORDER_EXPIRED",
      seq: 2,
      payload: { order: { status: "EXPIRED", version: 2 } },
    });
    expect(expired.payload.merchantAction).toBeUndefined();
    const cancelled = (await streamCount(otherPhone, 2))[1];
    expect(cancelled).toMatchObject({
      event: "ORDER_CANCELLED",
      payload: { order: { status: "CANCELLED", cancelReason: "ordered twice" } },
    });
    expect(cancelled.payload.merchantAction).toBeUndefined();
    checkFrames(screen, "merchant");
    checkFrames(phone, "order", { since: 0 });
    checkFrames(otherPhone, "order", { since: 0 });
    for (const s of [screen, phone, otherPhone]) s.close();
  });

  it("dispatch may watch a merchant's room; its screen gets every event", async () => {
    const { merchantId } = await setupMerchant();
    const ops = await openMerchantSocket(merchantId, await tokens.dispatch());
    const order = await placeOrder(merchantId);
    await api("POST", `/api/orders/${order.id}/cancel`, {
      token: await tokens.dispatch(),
      body: { reason: "store closed" },
    });
    const events = await streamCount(ops, 2);
    expect(events.map((e) => e.event)).toEqual(["ORDER_CREATED", "ORDER_CANCELLED"]);
    expect(events[1].payload.actor).toEqual({ role: "dispatch", id: "dispatch-1" });
    checkAndClose("merchant", ops);
  });
});

describe("order room: the customer's view", () => {
  it("streams ORDER_CREATED → … → ORDER_DELIVERED in order, seq 1..7, increasing version, merchantAction on merchant changes", async () => {
    const { merchantId, staff, order, phone: customer } = await customerWatching("cust-journey", { fromStart: true });
    const screen = await openMerchantSocket(merchantId, staff);
    const driverToken = await tokens.driver("drv-7");
    const dispatchToken = await tokens.dispatch();

    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    await act(screen, "MERCHANT_MARK_PREPARING", { orderId: order.id });
    expect((await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/ready`, { token: staff })).status).toBe(
      200,
    );
    const assign = await api("POST", `/api/orders/${order.id}/driver`, {
      token: dispatchToken,
      body: { driverId: "drv-7", name: "Dana", etaMinutes: 8 },
    });
    expect(assign.status, JSON.stringify(assign.body)).toBe(200);
    expect((await api("POST", `/api/orders/${order.id}/pickup`, { token: driverToken })).status).toBe(200);
    const deliverKey = rid("deliver");
    expect(
      (
        await api("POST", `/api/orders/${order.id}/deliver`, {
          token: driverToken,
          headers: { "Idempotency-Key": deliverKey },
        })
      ).status,
    ).toBe(200);

    const events = await streamCount(customer, 7);
    expect(events.map((e) => [e.seq, e.event, e.payload.order.version, e.payload.merchantAction])).toEqual([
      [1, "ORDER_CREATED", 1, undefined],
      [2, "MERCHANT_ACCEPTED", 2, "ACCEPT"],
      [3, "MERCHANT_PREPARING", 3, "MARK_PREPARING"],
      [4, "MERCHANT_READY", 4, "MARK_READY"],
      [5, "DRIVER_ASSIGNED", 5, undefined],
      [6, "ORDER_PICKED_UP", 6, undefined],
      [7, "ORDER_DELIVERED", 7, undefined],
    ]);
    for (const e of events) expect(e.payload.order.id).toBe(order.id);
    expect(events[4].payload.order.driver).toMatchObject({ id: "drv-7", name: "Dana", etaMinutes: 8 });
    expect(events[6].payload.order.status).toBe("DELIVERED");
    expect(events[6].requestId).toBe(deliverKey);
    expect(events[1].requestId).toMatch(/^r-/);
    // The order room speaks its own protocol: no merchant-only actor field is required, but what
    // it sends must parse with OrderServerEnvelopeSchema, starting at REPLAY_DONE after event 1.
    checkFrames(customer, "order", { since: 0 });
    expect(customer.envelopes.filter((e) => e.event === "REPLAY_DONE")).toEqual([
      expect.objectContaining({ seq: 1, payload: expect.objectContaining({ replayed: 1 }) }),
    ]);
    customer.close();
    screen.close();
  });

  it("a socket opened without since starts with SNAPSHOT { epoch, order } at the room's seq; the assigned driver, the merchant and dispatch may watch too", async () => {
    const { merchantId, staff } = await setupMerchant();
    const customerToken = await tokens.customer("cust-snap");
    const order = await placeOrder(merchantId, customerToken);
    const screen = await openMerchantSocket(merchantId, staff);
    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id, prepMinutes: 5 });
    await api("POST", `/api/orders/${order.id}/driver`, {
      token: await tokens.dispatch(),
      body: { driverId: "drv-snap", name: "Sam" },
    });
    await flushOutbox(merchantId);

    const watchers = [
      await openOrderSocket(order.id, customerToken),
      await openOrderSocket(order.id, await tokens.driver("drv-snap")),
      await openOrderSocket(order.id, staff),
      await openOrderSocket(order.id, await tokens.dispatch()),
    ];
    const { epoch, seq } = await orderStub(order.id).streamInfo();
    for (const w of watchers) {
      const [snapshot] = checkFrames(w, "order");
      expect(snapshot).toMatchObject({
        event: "SNAPSHOT",
        seq: 3,
        payload: { epoch, order: { id: order.id, version: 3, status: "ACCEPTED" } },
      });
      expect(seq).toBe(3);
    }
    await act(screen, "MERCHANT_UPDATE_PREP_TIME", { orderId: order.id, prepMinutes: 25 });
    for (const w of watchers) {
      const [ev] = await streamCount(w, 1);
      expect(ev).toMatchObject({
        event: "PREP_TIME_UPDATED",
        seq: 4,
        payload: { merchantAction: "UPDATE_PREP_TIME", order: { prepMinutes: 25, version: 4 } },
      });
      checkAndClose("order", w);
    }
    screen.close();
  });

  it("opening an order's room right after placing it never shows an empty snapshot", async () => {
    const { merchantId } = await setupMerchant();
    const customerToken = await tokens.customer("cust-fast");
    for (let i = 0; i < 5; i++) {
      const order = await placeOrder(merchantId, customerToken);
      const socket = await openOrderSocket(order.id, customerToken);
      const [snapshot] = checkFrames(socket, "order");
      expect(snapshot.payload.order).toMatchObject({ id: order.id, version: 1 });
      expect(snapshot.seq).toBe(1);
      socket.close();
    }
  });
});
