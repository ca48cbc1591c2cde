/**
 * Concurrent actions on one order — REST, sockets, bulk, several screens, the customer — get
 * exactly one winner: the merchant room is the single writer. One event for the winner, a clean
 * refusal for each loser, and every copy (streams, order room, D1) agrees on the winner.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectGapless } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import { barrier, openMerchantSocket, openOrderSocketFromStart, reply, rid, streamCount } from "./support/sockets.ts";

describe("over REST", () => {
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

describe("over sockets, and sockets against REST", () => {
  it("two screens accept the same order at once: one ACK, one ERROR INVALID_TRANSITION, one stream event (×10)", async () => {
    const { merchantId } = await setupMerchant();
    const a = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-a"));
    const b = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-b"));
    const observer = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-c"));
    const customerToken = await tokens.customer("cust-race");
    const orders = [];
    for (let i = 0; i < 10; i++) orders.push(await placeOrder(merchantId, customerToken));
    await flushOutbox(merchantId);
    const phones = await Promise.all(orders.map((o) => openOrderSocketFromStart(o.id, customerToken)));
    await streamCount(observer, 10);

    for (const order of orders) {
      const idA = rid("a");
      const idB = rid("b");
      // Both frames are on the wire before either reply comes back.
      a.send({ action: "MERCHANT_ACCEPT", requestId: idA, payload: { orderId: order.id, prepMinutes: 5 } });
      b.send({ action: "MERCHANT_ACCEPT", requestId: idB, payload: { orderId: order.id, prepMinutes: 6 } });
      const [ra, rb] = await Promise.all([reply(a, idA), reply(b, idB)]);
      const replies = [ra, rb].map((r) => r.event).sort();
      expect(replies).toEqual(["ACK", "ERROR"]);
      const loser = ra.event === "ERROR" ? ra : rb;
      const winner = ra.event === "ACK" ? ra : rb;
      expect(loser.payload.code).toBe("INVALID_TRANSITION");
      expect(winner.payload.order).toMatchObject({ status: "ACCEPTED", version: 2 });
      // The event names the winner's request.
      const events = (s: typeof a) =>
        s.stream().filter((e) => e.payload.order.id === order.id && e.event === "MERCHANT_ACCEPTED");
      for (const s of [a, b, observer]) {
        await barrier(s);
        expect(events(s)).toHaveLength(1);
        expect(events(s)[0].requestId).toBe(winner.requestId);
      }
    }
    await flushOutbox(merchantId);
    for (const [i, phone] of phones.entries()) {
      await barrier(phone);
      expect(
        phone.stream().map((e) => e.event),
        orders[i]!.id,
      ).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED"]);
      checkFrames(phone, "order", { since: 0 });
      phone.close();
    }
    checkAndClose("merchant", a, b, observer);
  });

  it("a socket accept racing a REST accept and a REST reject: exactly one wins", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-sock"));
    const observer = await openMerchantSocket(merchantId, staff);
    for (let i = 0; i < 5; i++) {
      const order = await placeOrder(merchantId);
      const id = rid("race");
      screen.send({ action: "MERCHANT_ACCEPT", requestId: id, payload: { orderId: order.id } });
      const [sock, accept, reject] = await Promise.all([
        reply(screen, id),
        api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff, body: {} }),
        api("POST", `/api/merchants/${merchantId}/orders/${order.id}/reject`, {
          token: staff,
          body: { reason: "busy" },
        }),
      ]);
      const wins = [sock.event === "ACK", accept.status === 200, reject.status === 200].filter(Boolean);
      expect(wins, JSON.stringify([sock, accept.body, reject.body])).toHaveLength(1);
      for (const r of [accept, reject]) if (r.status !== 200) expectError(r, 409, "INVALID_TRANSITION");
      if (sock.event === "ERROR") expect(sock.payload.code).toBe("INVALID_TRANSITION");
      await barrier(observer);
      const events = observer.stream().filter((e) => e.payload.order.id === order.id);
      expect(events.map((e) => e.event)).toHaveLength(2); // ORDER_CREATED + the one winner
      expect(["MERCHANT_ACCEPTED", "MERCHANT_REJECTED"]).toContain(events[1].event);
    }
    checkAndClose("merchant", screen, observer);
  });

  it("a bulk accept racing single accepts of the same orders: each order is accepted exactly once", async () => {
    const { merchantId } = await setupMerchant();
    const a = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-a"));
    const b = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-b"));
    const orders = [];
    for (let i = 0; i < 6; i++) orders.push(await placeOrder(merchantId));
    const bulkId = rid("bulk");
    a.send({ action: "BULK_ACCEPT", requestId: bulkId, payload: { orderIds: orders.map((o) => o.id) } });
    const singles = orders
      .filter((_, i) => i % 2 === 1)
      .map((o) => {
        const id = rid("one");
        b.send({ action: "MERCHANT_ACCEPT", requestId: id, payload: { orderId: o.id } });
        return { id, orderId: o.id };
      });
    const bulk = await reply(a, bulkId);
    const singleReplies = await Promise.all(singles.map((s) => reply(b, s.id)));
    for (const order of orders) {
      const inBulk = bulk.payload.results.find((r: any) => r.orderId === order.id).ok ? 1 : 0;
      const single = singles.findIndex((s) => s.orderId === order.id);
      const bySingle = single >= 0 && singleReplies[single].event === "ACK" ? 1 : 0;
      expect(inBulk + bySingle, order.id).toBe(1);
    }
    await barrier(a);
    await barrier(b);
    for (const s of [a, b]) {
      const accepted = s.stream().filter((e) => e.event === "MERCHANT_ACCEPTED");
      expect(accepted).toHaveLength(6);
      expect(new Set(accepted.map((e) => e.payload.order.id)).size).toBe(6);
      checkAndClose("merchant", s);
    }
  });

  it("three screens and REST hammering one merchant concurrently: every screen sees the same gap-free stream", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screens = await Promise.all(
      ["s1", "s2", "s3"].map(async (s) => openMerchantSocket(merchantId, await tokens.merchant(merchantId, s))),
    );
    const orders = [];
    for (let i = 0; i < 8; i++) orders.push(await placeOrder(merchantId));
    // Every screen tries every step on every order, REST too; the room serialises them.
    const steps = ["MERCHANT_ACCEPT", "MERCHANT_MARK_PREPARING", "MERCHANT_MARK_READY"] as const;
    const rest = {
      MERCHANT_ACCEPT: "accept",
      MERCHANT_MARK_PREPARING: "preparing",
      MERCHANT_MARK_READY: "ready",
    } as const;
    let acks = 0;
    let restOks = 0;
    for (const step of steps) {
      const pending: Promise<void>[] = [];
      for (const order of orders) {
        for (const s of screens) {
          const id = rid(step);
          s.send({ action: step, requestId: id, payload: { orderId: order.id } });
          pending.push(
            reply(s, id).then(
              (r) => void (r.event === "ACK" ? acks++ : expect(r.payload.code).toBe("INVALID_TRANSITION")),
            ),
          );
        }
        pending.push(
          api("POST", `/api/merchants/${merchantId}/orders/${order.id}/${rest[step]}`, { token: staff, body: {} }).then(
            (r) => {
              if (r.status === 200) restOks++;
              else expect(r.body.error.code).toBe("INVALID_TRANSITION");
            },
          ),
        );
      }
      await Promise.all(pending);
    }
    // Each (order, step) happened exactly once.
    expect(acks + restOks).toBe(orders.length * steps.length);
    const total = orders.length * (1 + steps.length);
    for (const s of screens) await streamCount(s, total);
    for (const s of screens) await barrier(s);
    const reference = screens[0]!.stream();
    expect(reference).toHaveLength(total);
    for (const s of screens) {
      expect(s.stream()).toEqual(reference);
      checkAndClose("merchant", s);
    }
    // Per order: created, accepted, preparing, ready, in version order.
    for (const order of orders) {
      const mine = reference.filter((e) => e.payload.order.id === order.id);
      expect(mine.map((e) => [e.event, e.payload.order.version])).toEqual([
        ["ORDER_CREATED", 1],
        ["MERCHANT_ACCEPTED", 2],
        ["MERCHANT_PREPARING", 3],
        ["MERCHANT_READY", 4],
      ]);
    }
  });
});
