/**
 * Hibernation: a room may be evicted from memory at any time while its sockets stay open. A
 * socket accepted before keeps working — its identity comes back from its attachment, the room's
 * from storage — and `ping` is answered by the runtime without waking the room at all.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokens } from "./support/credentials.ts";
import { evictIfRunning, flushOutbox, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { alarmOf, autoResponseAt, socketCount } from "./support/room-seams.ts";
import { api } from "./support/http.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import {
  act,
  barrier,
  customerWatching,
  openMerchantSocket,
  openOrderSocketFromStart,
  rid,
  streamCount,
  waitFor,
} from "./support/sockets.ts";

describe("after eviction", () => {
  it("a socket accepted before still round-trips an action (ACK) and every socket gets the event, numbering unbroken", async () => {
    const { merchantId } = await setupMerchant();
    const a = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-a"));
    const b = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-b"));
    const customerToken = await tokens.customer("cust-hib");
    const order = await placeOrder(merchantId, customerToken);
    await flushOutbox(merchantId);
    const phone = await openOrderSocketFromStart(order.id, customerToken);
    await streamCount(a, 1);
    await streamCount(b, 1);
    const epoch = a.envelopes[0].payload.epoch;

    await evictDurableObject(merchantStub(merchantId));
    await evictDurableObject(orderStub(order.id));

    const id = rid("after-evict");
    const ack = await act(a, "MERCHANT_ACCEPT", { orderId: order.id, prepMinutes: 7 }, id);
    expect(ack).toMatchObject({ event: "ACK", requestId: id, payload: { order: { status: "ACCEPTED", version: 2 } } });
    for (const s of [a, b]) {
      const events = await streamCount(s, 2);
      // The identity kept in the socket's attachment survived: the actor is staff-a.
      expect(events[1]).toMatchObject({
        event: "MERCHANT_ACCEPTED",
        seq: 2,
        requestId: id,
        payload: { actor: { role: "merchant", id: "staff-a" } },
      });
    }
    const relayed = await streamCount(phone, 2);
    expect(relayed[1]).toMatchObject({ event: "MERCHANT_ACCEPTED", seq: 2, payload: { merchantAction: "ACCEPT" } });

    // A REST change after another eviction still reaches the hibernated sockets.
    await evictDurableObject(merchantStub(merchantId));
    await evictDurableObject(orderStub(order.id));
    expect(
      (
        await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/preparing`, {
          token: await tokens.merchant(merchantId),
        })
      ).status,
    ).toBe(200);
    for (const s of [a, b]) expect((await streamCount(s, 3))[2]).toMatchObject({ event: "MERCHANT_PREPARING", seq: 3 });
    expect((await streamCount(phone, 3))[2]).toMatchObject({ event: "MERCHANT_PREPARING", seq: 3 });

    // Same numbering: a new socket opens at seq 3 with the same epoch.
    const late = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-c"));
    expect(late.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: 3, payload: { epoch } });

    checkFrames(a, "merchant");
    checkFrames(b, "merchant");
    checkFrames(late, "merchant");
    checkFrames(phone, "order", { since: 0 });
    for (const s of [a, b, late, phone]) s.close();
  });

  it("a socket's role survives hibernation: dispatch stays unable to act, staff stays able", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const ops = await openMerchantSocket(merchantId, await tokens.dispatch("ops-9"));
    const kitchen = await openMerchantSocket(merchantId, staff);
    await evictDurableObject(merchantStub(merchantId));

    const refused = await act(ops, "MERCHANT_ACCEPT", { orderId: order.id });
    expect(refused).toMatchObject({ event: "ERROR", payload: { code: "FORBIDDEN" } });
    await evictDurableObject(merchantStub(merchantId));
    const ok = await act(kitchen, "MERCHANT_ACCEPT", { orderId: order.id });
    expect(ok).toMatchObject({ event: "ACK", payload: { order: { status: "ACCEPTED" } } });
    // The dispatch screen still receives the stream.
    expect(await streamCount(ops, 1)).toEqual([expect.objectContaining({ event: "MERCHANT_ACCEPTED", seq: 2 })]);
    checkAndClose("merchant", ops, kitchen);
  });

  it("a close from the client is reciprocated, also when the room was hibernating", async () => {
    const { merchantId, staff } = await setupMerchant();
    const awake = await openMerchantSocket(merchantId, staff);
    const sleeper = await openMerchantSocket(merchantId, staff);
    awake.close(4001);
    expect(await awake.waitClosed()).toMatchObject({ code: 4001 });
    await evictDurableObject(merchantStub(merchantId));
    sleeper.close(4002);
    expect(await sleeper.waitClosed()).toMatchObject({ code: 4002 });
    // The room forgot both sockets: a broadcast reaches none of them and nothing breaks.
    await placeOrder(merchantId);
    expect(await socketCount(merchantId)).toBe(0);
  });
});

describe("ping / pong", () => {
  it("is answered by the runtime: after eviction, 450 pings get 450 pongs, the room never wakes, no frame is rate-limited", async () => {
    const { order, phone } = await customerWatching("cust-ping");
    const stub = orderStub(order.id);
    expect(await evictIfRunning(stub)).toBe(true); // ...and now evicted
    expect(await evictIfRunning(stub)).toBe(false);

    // More than twice the per-socket frame limit (200 / 10 s): were the room's own code counting
    // these frames, the socket would be closed with 1008 after 400.
    for (let i = 0; i < 450; i++) phone.send("ping");
    await phone.until((envs) => envs.filter((e) => e === "pong").length === 450, 20_000, "450 pongs");
    expect(phone.closed).toBeNull();
    expect(phone.envelopes.filter((e) => e !== "pong").map((e) => e.event)).toEqual(["SNAPSHOT"]);
    // The room was not woken by any of them.
    expect(await evictIfRunning(stub)).toBe(false);

    // And the runtime recorded the auto-response on the socket.
    expect(await autoResponseAt(order.id)).not.toBeNull();
    phone.close();
  });

  it("works on a merchant room socket, before and after eviction, and the socket keeps acting", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    await barrier(screen);
    // Nothing scheduled that could wake the room by itself (creating it queued a D1 projection).
    await waitFor(async () => (await alarmOf(merchantStub(merchantId))) === null, 10_000, "no alarm");
    await evictDurableObject(merchantStub(merchantId));
    await barrier(screen);
    expect(await evictIfRunning(merchantStub(merchantId))).toBe(false);
    expect(screen.envelopes.filter((e) => e === "pong")).toHaveLength(2);
    const order = await placeOrder(merchantId);
    expect((await act(screen, "MERCHANT_ACCEPT", { orderId: order.id })).event).toBe("ACK");
    // Only the literal text `ping` is a keep-alive; anything else is a frame for the room.
    screen.send("PING");
    const err = await screen.next((e) => e.event === "ERROR");
    expect(err.payload.code).toBe("BAD_REQUEST");
    checkAndClose("merchant", screen);
  });
});
