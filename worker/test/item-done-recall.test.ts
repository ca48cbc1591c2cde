/**
 * Item bump and recall (CONTRACT.md, Additions v2): a station marks an item done or not done
 * (`POST …/items/:index/done`, MERCHANT_ITEM_DONE) while the order is ACCEPTED or PREPARING; the
 * kitchen brings a READY order back to PREPARING within 10 minutes of `readyAt` (`POST …/recall`,
 * MERCHANT_RECALL), by the room's clock. Both are the merchant's alone, stream events with seq,
 * relayed to the order room.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, flushOutbox, orderIn, setupMerchant } from "./support/fixtures.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import { api } from "./support/http.ts";
import { acceptedOrder, callers, MINUTE, merchantStream, orderAction } from "./support/kitchen.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { act, barrier, openMerchantSocket, openOrderSocketFromStart, streamCount } from "./support/sockets.ts";

const done = (merchantId: string, orderId: string, index: number | string, tok: string, body: unknown, key?: string) =>
  orderAction(merchantId, orderId, `items/${index}/done`, tok, body, key);
const recall = (merchantId: string, orderId: string, tok: string, key?: string) =>
  orderAction(merchantId, orderId, "recall", tok, {}, key);
const iso = (ms: number) => new Date(ms).toISOString();

describe("item done", () => {
  it("marks an item done and undone (doneAt set at room time, then gone); ITEM_DONE on the board, relayed to the order room", async () => {
    const { merchantId, staff } = await setupMerchant();
    const t0 = Date.now() + 2 * MINUTE;
    await setRoomClock(merchantId, t0);
    const screen = await openMerchantSocket(merchantId, staff);
    const order = await acceptedOrder(merchantId, staff);
    const on = await done(merchantId, order.id, 0, staff, { done: true }, "done-0");
    expect(on.status).toBe(200);
    expect(on.body.items[0]!.doneAt).toBe(iso(t0));
    expect(on.body.items.slice(1).every((i) => i.doneAt === undefined)).toBe(true);
    expect(on.body).toMatchObject({ status: "ACCEPTED", version: order.version + 1 });
    expectError(await done(merchantId, order.id, 0, staff, { done: true }), 409, "CONFLICT");

    await orderAction(merchantId, order.id, "preparing", staff);
    const ack = await act(screen, "MERCHANT_ITEM_DONE", { orderId: order.id, index: 2, done: true });
    expect(ack.payload.order.items.map((i: { doneAt?: string }) => i.doneAt !== undefined)).toEqual([
      true,
      false,
      true,
    ]);
    const off = await act(screen, "MERCHANT_ITEM_DONE", { orderId: order.id, index: 0, done: false });
    expect(off.payload.order.items[0]).not.toHaveProperty("doneAt");
    const again = await act(screen, "MERCHANT_ITEM_DONE", { orderId: order.id, index: 0, done: false });
    expect(again.payload.code).toBe("CONFLICT");

    const events = (await streamCount(screen, 6)).filter((e) => e.event === "ITEM_DONE");
    expect(events.map((e) => [e.requestId ?? null, e.payload.order.version, e.payload.actor.id])).toEqual([
      ["done-0", 3, "staff-1"],
      [ack.requestId, 5, "staff-1"],
      [off.requestId, 6, "staff-1"],
    ]);
    await flushOutbox(merchantId);
    const phone = await openOrderSocketFromStart(order.id, await tokens.customer());
    const relayed = (await streamCount(phone, 6)).filter((e) => e.event === "ITEM_DONE");
    expect(relayed.map((e) => e.payload.merchantAction)).toEqual(["ITEM_DONE", "ITEM_DONE", "ITEM_DONE"]);
    expect(relayed.at(-1).payload.order).toEqual(off.payload.order);
    checkFrames(phone, "order", { since: 0 });
    phone.close();
    checkAndClose("merchant", screen);
  });

  it("refused on a removed or missing item (400), with a bad index or body (zod 400), outside ACCEPTED/PREPARING (409)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    expect((await done(merchantId, order.id, 1, staff, { done: true })).status).toBe(200);
    // Removing a done item forgets that it was done.
    const removed = await orderAction(merchantId, order.id, "adjust", staff, {
      changes: [{ index: 1, quantity: 0 }],
      reason: "spilled",
    });
    expect(removed.body.items[1]).toEqual({ name: "Lemonade", quantity: 0, unitPriceCents: 350 });
    const screen = await openMerchantSocket(merchantId, staff);
    for (const index of [1, 3]) {
      const rest = expectError(await done(merchantId, order.id, index, staff, { done: true }), 400, "BAD_REQUEST");
      const reply = await act(screen, "MERCHANT_ITEM_DONE", { orderId: order.id, index, done: true });
      expect(reply.payload).toEqual(rest);
    }
    expectZod400(await done(merchantId, order.id, 100, staff, { done: true }), ["index"]);
    expectZod400(await done(merchantId, order.id, "first", staff, { done: true }), ["index"]);
    expectZod400(await done(merchantId, order.id, 0, staff, { done: "yes" }), ["done"]);
    expectZod400(await done(merchantId, order.id, 0, staff, {}), ["done"]);
    const bad = await act(screen, "MERCHANT_ITEM_DONE", { orderId: order.id, index: -1, done: true });
    expect(bad.payload.code).toBe("BAD_REQUEST");
    expect(Array.isArray(bad.payload.details)).toBe(true);

    const placed = await orderIn(merchantId, "PLACED");
    expectError(await done(merchantId, placed.id, 0, staff, { done: true }), 409, "INVALID_TRANSITION", "PLACED");
    const ready = await orderIn(merchantId, "READY");
    expectError(await done(merchantId, ready.id, 0, staff, { done: true }), 409, "INVALID_TRANSITION", "READY");
    await barrier(screen);
    expect(screen.stream().map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "MERCHANT_PREPARING",
      "MERCHANT_READY",
    ]);
    checkAndClose("merchant", screen);
  });
});

describe("recall", () => {
  it("READY → PREPARING up to exactly 10 min after readyAt (room clock): MERCHANT_RECALLED, relayed with merchantAction RECALL; ready again restarts the window", async () => {
    const { merchantId, staff } = await setupMerchant();
    const t0 = Date.now() + 2 * MINUTE;
    await setRoomClock(merchantId, t0);
    const screen = await openMerchantSocket(merchantId, staff);
    const order = await acceptedOrder(merchantId, staff, "READY");
    expect(order.readyAt).toBe(iso(t0));

    await setRoomClock(merchantId, t0 + 10 * MINUTE);
    const res = await recall(merchantId, order.id, staff, "recall-1");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: "PREPARING",
      recalledAt: iso(t0 + 10 * MINUTE),
      version: order.version + 1,
      preparingAt: order.preparingAt,
    });
    // READY again later is a new readyAt: the window counts from the latest.
    expect(res.body.readyAt).toBe(order.readyAt); // kept: the time of every status it has had
    const [recalled] = (await streamCount(screen, 5)).slice(4);
    expect(recalled).toMatchObject({
      event: "MERCHANT_RECALLED",
      seq: 5,
      requestId: "recall-1",
      payload: { order: res.body, actor: { role: "merchant", id: "staff-1" } },
    });
    // The driver cannot take a ticket the kitchen took back.
    await api("POST", `/api/orders/${order.id}/driver`, { token: await tokens.dispatch(), body: DRIVER });
    expectError(
      await api("POST", `/api/orders/${order.id}/pickup`, { token: await tokens.driver() }),
      409,
      "INVALID_TRANSITION",
    );

    await setRoomClock(merchantId, t0 + 12 * MINUTE);
    const readyAgain = await act(screen, "MERCHANT_MARK_READY", { orderId: order.id });
    expect(readyAgain.payload.order.readyAt).toBe(iso(t0 + 12 * MINUTE));
    await setRoomClock(merchantId, t0 + 22 * MINUTE + 1);
    expectError(await recall(merchantId, order.id, staff), 409, "INVALID_TRANSITION");
    const late = await act(screen, "MERCHANT_RECALL", { orderId: order.id });
    expect(late.payload.code).toBe("INVALID_TRANSITION");
    expect((await api<Order>("GET", `/api/orders/${order.id}`, { token: staff })).body.status).toBe("READY");

    await flushOutbox(merchantId);
    const phone = await openOrderSocketFromStart(order.id, await tokens.customer());
    const relayed = await streamCount(phone, 7);
    expect(relayed.map((e) => [e.event, e.payload.merchantAction ?? null])).toEqual([
      ["ORDER_CREATED", null],
      ["MERCHANT_ACCEPTED", "ACCEPT"],
      ["MERCHANT_PREPARING", "MARK_PREPARING"],
      ["MERCHANT_READY", "MARK_READY"],
      ["MERCHANT_RECALLED", "RECALL"],
      ["DRIVER_ASSIGNED", null],
      ["MERCHANT_READY", "MARK_READY"],
    ]);
    expect(relayed[4].payload.order).toEqual(res.body);
    checkFrames(phone, "order", { since: 0 });
    phone.close();
    checkAndClose("merchant", screen);
  });

  it("only from READY: ACCEPTED, PREPARING, PICKED_UP, DELIVERED, CANCELLED are 409 INVALID_TRANSITION", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    for (const status of ["ACCEPTED", "PREPARING", "PICKED_UP", "DELIVERED", "CANCELLED"] as const) {
      const order = await orderIn(merchantId, status);
      expectError(await recall(merchantId, order.id, staff), 409, "INVALID_TRANSITION", status);
      const reply = await act(screen, "MERCHANT_RECALL", { orderId: order.id });
      expect(reply.payload.code, status).toBe("INVALID_TRANSITION");
    }
    expect((await merchantStream(merchantId)).filter((e) => e.event === "MERCHANT_RECALLED")).toEqual([]);
    checkAndClose("merchant", screen);
  });
});

describe("who may", () => {
  it("item done and recall are the order's merchant's alone: 403 for everyone else, 404 through another store's path or for an unknown order", async () => {
    const { merchantId, staff } = await setupMerchant();
    const cooking = await acceptedOrder(merchantId, staff);
    const ready = await orderIn(merchantId, "READY");
    await api("POST", `/api/orders/${ready.id}/driver`, { token: await tokens.dispatch(), body: DRIVER });
    const who = await callers(merchantId);
    for (const name of ["otherMerchant", "customer", "driver", "dispatch", "platform"] as const) {
      expectError(await done(merchantId, cooking.id, 0, who[name], { done: true }), 403, "FORBIDDEN", name);
      expectError(await recall(merchantId, ready.id, who[name]), 403, "FORBIDDEN", name);
    }
    const other = await setupMerchant();
    expectError(await done(other.merchantId, cooking.id, 0, other.staff, { done: true }), 404, "NOT_FOUND");
    expectError(await recall(other.merchantId, ready.id, other.staff), 404, "NOT_FOUND");
    expectError(await recall(merchantId, `${merchantId}.nosuchorder`, staff), 404, "NOT_FOUND");
    const ops = await openMerchantSocket(merchantId, who.dispatch);
    expect((await act(ops, "MERCHANT_RECALL", { orderId: ready.id })).payload.code).toBe("FORBIDDEN");
    expect((await act(ops, "MERCHANT_ITEM_DONE", { orderId: cooking.id, index: 0, done: true })).payload.code).toBe(
      "FORBIDDEN",
    );
    const events = (await merchantLog(merchantId)).map((e) => e.event);
    expect(events).not.toContain("ITEM_DONE");
    expect(events).not.toContain("MERCHANT_RECALLED");
    checkAndClose("merchant", ops);
  });
});

describe("idempotency", () => {
  it("a retried recall or item bump (REST key, socket requestId, or across) applies once; the key with another body is 422", async () => {
    const { merchantId, staff } = await setupMerchant();
    const ready = await orderIn(merchantId, "READY");
    const first = await recall(merchantId, ready.id, staff, "rc-1");
    const second = await recall(merchantId, ready.id, staff, "rc-1");
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const screen = await openMerchantSocket(merchantId, staff);
    expect(await act(screen, "MERCHANT_RECALL", { orderId: ready.id }, "rc-1")).toMatchObject({
      event: "ACK",
      payload: { order: first.body },
    });
    const bump = await act(screen, "MERCHANT_ITEM_DONE", { orderId: ready.id, index: 0, done: true }, "bump-1");
    const rest = await done(merchantId, ready.id, 0, staff, { done: true }, "bump-1");
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual(bump.payload.order);
    expectError(await done(merchantId, ready.id, 0, staff, { done: false }, "bump-1"), 422, "IDEMPOTENCY_MISMATCH");
    await barrier(screen);
    const log = await merchantStream(merchantId);
    expect(log.filter((e) => e.event === "MERCHANT_RECALLED").map((e) => e.requestId)).toEqual(["rc-1"]);
    expect(log.filter((e) => e.event === "ITEM_DONE").map((e) => e.requestId)).toEqual(["bump-1"]);
    checkAndClose("merchant", screen);
  });
});
