/**
 * Changes after acceptance (CONTRACT.md, Additions v2): the kitchen lowers or removes items of an
 * ACCEPTED or PREPARING order with a reason — never adds, keeps at least one item — over REST
 * (`POST …/adjust`) or its socket twin MERCHANT_ADJUST_ITEMS. The total follows, the adjustment is
 * recorded on the order, ORDER_ADJUSTED is on the board and relayed to the customer with
 * `merchantAction: ADJUST_ITEMS`.
 */
import { describe, expect, it } from "vitest";
import type { AuditEntry, Order } from "../../schema/index.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, flushOutbox, orderStub, setupMerchant } from "./support/fixtures.ts";
import { historyRow } from "./support/history.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import { api } from "./support/http.ts";
import { acceptedOrder, callers, MINUTE, merchantStream, orderAction, THREE_ITEMS } from "./support/kitchen.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { act, barrier, openMerchantSocket, openOrderSocketFromStart, rid, streamCount } from "./support/sockets.ts";

const adjust = (merchantId: string, orderId: string, tok: string, body: unknown, key?: string) =>
  orderAction(merchantId, orderId, "adjust", tok, body, key);

describe("lowering and removing items", () => {
  it("after accept: quantities lowered, 0 removes (kept in place), total recomputed, adjustment recorded; on the board and relayed to the customer", async () => {
    const { merchantId, staff } = await setupMerchant();
    const t0 = Date.now() + 2 * MINUTE;
    await setRoomClock(merchantId, t0);
    const screen = await openMerchantSocket(merchantId, staff);
    const order = await acceptedOrder(merchantId, staff);
    expect(order.totalCents).toBe(4350);
    await flushOutbox(merchantId);
    const phone = await openOrderSocketFromStart(order.id, await tokens.customer());

    const res = await adjust(
      merchantId,
      order.id,
      staff,
      {
        changes: [
          { index: 0, quantity: 1 },
          { index: 1, quantity: 0 },
        ],
        reason: "out of lemonade",
      },
      "adj-1",
    );
    expect(res.status).toBe(200);
    const adjusted = res.body;
    expect(adjusted.items.map((i) => [i.name, i.quantity])).toEqual([
      ["Margherita", 1],
      ["Lemonade", 0],
      ["Tiramisu", 3],
    ]);
    expect(adjusted.totalCents).toBe(1100 + 3 * 600);
    expect(adjusted).toMatchObject({ status: "ACCEPTED", version: order.version + 1 });
    expect(adjusted.adjustments).toEqual([
      {
        at: new Date(t0).toISOString(),
        reason: "out of lemonade",
        changes: [
          { index: 0, from: 2, to: 1 },
          { index: 1, from: 1, to: 0 },
        ],
      },
    ]);
    const [, , event] = await streamCount(screen, 3);
    expect(event).toEqual({
      event: "ORDER_ADJUSTED",
      seq: 3,
      requestId: "adj-1",
      at: new Date(t0).toISOString(),
      payload: { order: adjusted, actor: { role: "merchant", id: "staff-1" } },
    });

    // Later, while cooking, on the socket: adjustments accumulate.
    await orderAction(merchantId, order.id, "preparing", staff);
    const ack = await act(screen, "MERCHANT_ADJUST_ITEMS", {
      orderId: order.id,
      changes: [{ index: 2, quantity: 1 }],
      reason: "only one tiramisu left",
    });
    expect(ack.event).toBe("ACK");
    expect(ack.payload.order.totalCents).toBe(1100 + 600);
    expect(ack.payload.order.adjustments.map((a: { reason: string }) => a.reason)).toEqual([
      "out of lemonade",
      "only one tiramisu left",
    ]);

    await flushOutbox(merchantId);
    const relayed = await streamCount(phone, 5);
    expect(relayed.map((e) => [e.event, e.payload.merchantAction])).toEqual([
      ["ORDER_CREATED", undefined],
      ["MERCHANT_ACCEPTED", "ACCEPT"],
      ["ORDER_ADJUSTED", "ADJUST_ITEMS"],
      ["MERCHANT_PREPARING", "MARK_PREPARING"],
      ["ORDER_ADJUSTED", "ADJUST_ITEMS"],
    ]);
    expect(relayed[2].payload.order).toEqual(adjusted);
    expect(await orderStub(order.id).getOrder()).toEqual(ack.payload.order);
    expect(await historyRow(order.id)).toMatchObject({ total_cents: 1700, version: ack.payload.order.version });
    const read = await api<Order>("GET", `/api/orders/${order.id}`, { token: await tokens.customer() });
    expect(read.body).toEqual(ack.payload.order);
    const trail = await api<{ events: AuditEntry[] }>("GET", `/api/orders/${order.id}/events`, { token: staff });
    expect(trail.body.events.map((e) => [e.event, e.via, e.requestId ?? null])).toEqual([
      ["ORDER_CREATED", "rest", null],
      ["MERCHANT_ACCEPTED", "rest", null],
      ["ORDER_ADJUSTED", "rest", "adj-1"],
      ["MERCHANT_PREPARING", "rest", null],
      ["ORDER_ADJUSTED", "socket", ack.requestId],
    ]);
    checkFrames(phone, "order", { since: 0 });
    phone.close();
    checkAndClose("merchant", screen);
  });

  it("never adds: raising, keeping, or naming a removed or missing item is 400; the last item cannot go; nothing is committed", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    expect(
      (await adjust(merchantId, order.id, staff, { changes: [{ index: 1, quantity: 0 }], reason: "out" })).status,
    ).toBe(200);
    const screen = await openMerchantSocket(merchantId, staff);
    const refusals: { changes: { index: number; quantity: number }[] }[] = [
      { changes: [{ index: 0, quantity: 3 }] }, // more than the 2 ordered
      { changes: [{ index: 0, quantity: 2 }] }, // the same
      { changes: [{ index: 1, quantity: 0 }] }, // already removed
      { changes: [{ index: 3, quantity: 0 }] }, // no such item
      // Every remaining item to 0: an order keeps at least one (dispatch cancels a whole order).
      {
        changes: [
          { index: 0, quantity: 0 },
          { index: 2, quantity: 0 },
        ],
      },
      // One good change does not carry a bad one.
      {
        changes: [
          { index: 0, quantity: 1 },
          { index: 2, quantity: 4 },
        ],
      },
    ];
    for (const body of refusals) {
      const rest = expectError(
        await adjust(merchantId, order.id, staff, { ...body, reason: "x" }),
        400,
        "BAD_REQUEST",
        JSON.stringify(body),
      );
      const reply = await act(screen, "MERCHANT_ADJUST_ITEMS", { orderId: order.id, ...body, reason: "x" });
      expect(reply.payload, JSON.stringify(body)).toEqual(rest);
    }
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "ORDER_ADJUSTED",
    ]);
    checkAndClose("merchant", screen);
  });

  it("bodies the schema refuses are 400 with zod details, on both channels", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    const screen = await openMerchantSocket(merchantId, staff);
    const cases: [unknown, (string | number)[]][] = [
      [{ changes: [], reason: "x" }, ["changes"]],
      [{ changes: [{ index: 0, quantity: 1 }] }, ["reason"]],
      [{ changes: [{ index: 0, quantity: 1 }], reason: "  " }, ["reason"]],
      [{ changes: [{ index: 0, quantity: -1 }], reason: "x" }, ["changes", 0, "quantity"]],
      [{ changes: [{ index: 0, quantity: 99 }], reason: "x" }, ["changes", 0, "quantity"]],
      [{ changes: [{ index: 0, quantity: 0.5 }], reason: "x" }, ["changes", 0, "quantity"]],
      [{ changes: [{ index: -1, quantity: 0 }], reason: "x" }, ["changes", 0, "index"]],
      [
        {
          changes: [
            { index: 0, quantity: 1 },
            { index: 0, quantity: 0 },
          ],
          reason: "x",
        },
        ["changes"],
      ],
    ];
    for (const [body, path] of cases) {
      expectZod400(await adjust(merchantId, order.id, staff, body), path);
      const reply = await act(screen, "MERCHANT_ADJUST_ITEMS", { orderId: order.id, ...(body as object) });
      expect(reply.payload.code, JSON.stringify(body)).toBe("BAD_REQUEST");
      expect(Array.isArray(reply.payload.details)).toBe(true);
    }
    expect(await merchantLog(merchantId)).toHaveLength(2);
    checkAndClose("merchant", screen);
  });

  it("only ACCEPTED or PREPARING: PLACED, READY, PICKED_UP, REJECTED, CANCELLED are 409 INVALID_TRANSITION", async () => {
    const { merchantId, staff } = await setupMerchant();
    const body = { changes: [{ index: 0, quantity: 1 }], reason: "x" };
    const placed = (await api<Order>("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId, items: THREE_ITEMS },
    }))!.body;
    expectError(await adjust(merchantId, placed.id, staff, body), 409, "INVALID_TRANSITION", "PLACED");
    const ready = await acceptedOrder(merchantId, staff, "READY");
    expectError(await adjust(merchantId, ready.id, staff, body), 409, "INVALID_TRANSITION", "READY");
    const dispatch = await tokens.dispatch();
    await api("POST", `/api/orders/${ready.id}/driver`, { token: dispatch, body: DRIVER });
    await api("POST", `/api/orders/${ready.id}/pickup`, { token: await tokens.driver() });
    expectError(await adjust(merchantId, ready.id, staff, body), 409, "INVALID_TRANSITION", "PICKED_UP");
    const rejected = (await orderAction(merchantId, placed.id, "reject", staff, { reason: "closing" })).body;
    expect(rejected.status).toBe("REJECTED");
    expectError(await adjust(merchantId, placed.id, staff, body), 409, "INVALID_TRANSITION", "REJECTED");
    const cancelled = await acceptedOrder(merchantId, staff);
    await api("POST", `/api/orders/${cancelled.id}/cancel`, { token: dispatch, body: { reason: "customer called" } });
    const screen = await openMerchantSocket(merchantId, staff);
    const reply = await act(screen, "MERCHANT_ADJUST_ITEMS", { orderId: cancelled.id, ...body });
    expect(reply.payload.code).toBe("INVALID_TRANSITION");
    expect((await merchantStream(merchantId)).filter((e) => e.event === "ORDER_ADJUSTED")).toEqual([]);
    checkAndClose("merchant", screen);
  });
});

describe("who may", () => {
  it("only the order's own merchant: another store's staff, a customer, the driver, dispatch and the platform get 403; an unknown order 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    const who = await callers(merchantId);
    const body = { changes: [{ index: 0, quantity: 1 }], reason: "x" };
    for (const name of ["otherMerchant", "customer", "driver", "dispatch", "platform"] as const) {
      expectError(await adjust(merchantId, order.id, who[name], body), 403, "FORBIDDEN", name);
    }
    // Another store's staff, through their own store's path, cannot reach this order either.
    const other = await setupMerchant();
    expectError(await adjust(other.merchantId, order.id, other.staff, body), 404, "NOT_FOUND", "via its own path");
    expectError(await adjust(merchantId, `${merchantId}.zzzzzz`, staff, body), 404, "NOT_FOUND");

    // On the kitchen socket, dispatch may watch but not change items.
    const ops = await openMerchantSocket(merchantId, who.dispatch);
    const reply = await act(ops, "MERCHANT_ADJUST_ITEMS", { orderId: order.id, ...body });
    expect(reply.payload.code).toBe("FORBIDDEN");
    expect(await merchantLog(merchantId)).toHaveLength(2);
    checkAndClose("merchant", ops);
  });
});

describe("idempotency", () => {
  it("a retried adjustment (REST key, socket requestId, or one across the two) applies once; the key with another body is 422", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    const body = { changes: [{ index: 2, quantity: 2 }], reason: "one dropped" };
    const first = await adjust(merchantId, order.id, staff, body, "k-adj");
    const again = await adjust(merchantId, order.id, staff, body, "k-adj");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expectError(
      await adjust(merchantId, order.id, staff, { ...body, reason: "another" }, "k-adj"),
      422,
      "IDEMPOTENCY_MISMATCH",
    );
    const screen = await openMerchantSocket(merchantId, staff);
    const viaSocket = await act(screen, "MERCHANT_ADJUST_ITEMS", { orderId: order.id, ...body }, "k-adj");
    expect(viaSocket).toMatchObject({ event: "ACK", payload: { order: first.body } });

    const id = rid("adj");
    const a = await act(
      screen,
      "MERCHANT_ADJUST_ITEMS",
      { orderId: order.id, ...body, changes: [{ index: 0, quantity: 1 }] },
      id,
    );
    const b = await act(
      screen,
      "MERCHANT_ADJUST_ITEMS",
      { orderId: order.id, ...body, changes: [{ index: 0, quantity: 1 }] },
      id,
    );
    expect(b.payload).toEqual(a.payload);
    await barrier(screen);
    const adjusted = (await merchantStream(merchantId)).filter((e) => e.event === "ORDER_ADJUSTED");
    expect(adjusted.map((e) => [e.requestId, e.payload.order.totalCents])).toEqual([
      ["k-adj", 2200 + 350 + 1200],
      [id, 1100 + 350 + 1200],
    ]);
    checkAndClose("merchant", screen);
  });
});
