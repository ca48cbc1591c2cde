/**
 * "Nothing lost" with the kitchen operations (CONTRACT.md, Additions v2: every new stream event
 * carries seq like the others): a screen that comes back with ?since=N&epoch=E gets every event
 * it missed — merchant-level ones (availability, sold-out) and those the alarm made among them —
 * in order, gap-free, then REPLAY_DONE, also when the room was evicted in the middle; a station
 * screen is the same stream with the same seq; SNAPSHOT after an eviction comes from storage.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, merchantStub, orderStub, setupMerchant } from "./support/fixtures.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import { acceptedOrder, MINUTE, orderAction, setAvailability, setSoldOut, tryPlace } from "./support/kitchen.ts";
import { setRoomClock } from "./support/room-seams.ts";
import { act, openMerchantSocket, openOrderSocket, streamCount, type TestSocket } from "./support/sockets.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** Closes a screen after it has seen `count` stream events; returns where it stopped. */
async function leaveAfter(screen: TestSocket, count: number) {
  const epoch = screen.envelopes[0].payload.epoch as string;
  const since = (await streamCount(screen, count)).at(-1).seq as number;
  screen.close();
  await screen.waitClosed();
  return { epoch, since };
}

/** Asserts `back` replayed exactly `missed`, then REPLAY_DONE at their last seq. */
function expectReplayed(back: TestSocket, since: number, epoch: string, missed: any[]): void {
  expect(back.stream()).toEqual(missed);
  expect(missed.map((e) => e.seq)).toEqual(missed.map((_, i) => since + 1 + i));
  expect(back.envelopes.filter((e) => e.event === "SNAPSHOT")).toEqual([]);
  expect(back.envelopes.at(-1)).toMatchObject({
    event: "REPLAY_DONE",
    seq: since + missed.length,
    payload: { epoch, replayed: missed.length },
  });
  checkFrames(back, "merchant", { since });
}

describe("resume with kitchen events", () => {
  it("away across two evictions: every missed change, merchant-level ones included, in order and gap-free; then live", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-other"));
    const leaver = await openMerchantSocket(merchantId, staff);
    const order = await acceptedOrder(merchantId, staff, "PREPARING");
    const { epoch, since } = await leaveAfter(leaver, 3);

    expect((await act(other, "MERCHANT_SET_AVAILABILITY", { mode: "PAUSED", reason: "rush" })).event).toBe("ACK");
    expect((await setSoldOut(merchantId, await tokens.dispatch(), [{ name: "Tiramisu" }])).status).toBe(200);
    await evictDurableObject(merchantStub(merchantId));
    const adjust = { orderId: order.id, changes: [{ index: 2, quantity: 0 }], reason: "86'd" };
    expect((await act(other, "MERCHANT_ADJUST_ITEMS", adjust)).event).toBe("ACK");
    expect((await orderAction(merchantId, order.id, "items/0/done", staff, { done: true })).status).toBe(200);
    expect((await act(other, "MERCHANT_MARK_READY", { orderId: order.id })).event).toBe("ACK");
    expect((await orderAction(merchantId, order.id, "recall", staff)).status).toBe(200);
    await evictDurableObject(merchantStub(merchantId));
    expect((await act(other, "MERCHANT_SET_AVAILABILITY", { mode: "BUSY", extraPrepMinutes: 5 })).event).toBe("ACK");
    const missed = (await streamCount(other, 10)).slice(since);
    expect(missed.map((e) => e.event)).toEqual([
      "MERCHANT_AVAILABILITY_CHANGED",
      "SOLD_OUT_CHANGED",
      "ORDER_ADJUSTED",
      "ITEM_DONE",
      "MERCHANT_READY",
      "MERCHANT_RECALLED",
      "MERCHANT_AVAILABILITY_CHANGED",
    ]);

    const back = await openMerchantSocket(merchantId, staff, { since: String(since), epoch });
    expectReplayed(back, since, epoch, missed);
    expect((await tryPlace(merchantId)).status).toBe(201);
    const [next] = (await streamCount(back, missed.length + 1)).slice(missed.length);
    expect(next).toMatchObject({ event: "ORDER_CREATED", seq: since + missed.length + 1 });
    back.close();
    checkAndClose("merchant", other);
  });

  it("what the alarm did while the screen was away (reopen, an 86 ending, ORDER_FIRED, an auto-pause) is replayed in order, across evictions", async () => {
    const { merchantId, staff } = await setupMerchant({ autoPause: { afterExpiredInARow: 1, noScreenMinutes: 0 } });
    const t0 = Date.now() + 5 * MINUTE;
    await setRoomClock(merchantId, t0);
    const other = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-other"));
    const leaver = await openMerchantSocket(merchantId, staff);
    const scheduled = (await tryPlace(merchantId, { requestedFor: iso(t0 + 60 * MINUTE) })).body;
    await orderAction(merchantId, scheduled.id, "accept", staff, { prepMinutes: 20 });
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: iso(t0 + 20 * MINUTE) });
    await setSoldOut(merchantId, staff, [{ name: "Fries", until: iso(t0 + 30 * MINUTE) }]);
    const { epoch, since } = await leaveAfter(leaver, 4);

    const alarmAt = async (ms: number) => {
      await setRoomClock(merchantId, ms);
      await runDurableObjectAlarm(merchantStub(merchantId));
    };
    await evictDurableObject(merchantStub(merchantId));
    await alarmAt(t0 + 20 * MINUTE);
    await alarmAt(t0 + 30 * MINUTE);
    await setRoomClock(merchantId, t0 + 31 * MINUTE);
    const unanswered = await tryPlace(merchantId);
    expect(unanswered.status).toBe(201);
    await evictDurableObject(merchantStub(merchantId));
    await alarmAt(t0 + 40 * MINUTE);
    await alarmAt(t0 + 41 * MINUTE);
    const missed = (await streamCount(other, since + 6)).slice(since);
    expect(missed.map((e) => [e.event, e.payload.actor.role])).toEqual([
      ["MERCHANT_AVAILABILITY_CHANGED", "system"],
      ["SOLD_OUT_CHANGED", "system"],
      ["ORDER_CREATED", "customer"],
      ["ORDER_FIRED", "system"],
      ["ORDER_EXPIRED", "system"],
      ["MERCHANT_AVAILABILITY_CHANGED", "system"],
    ]);
    expect(missed.at(-1).payload.availability.mode).toBe("PAUSED");

    await evictDurableObject(merchantStub(merchantId));
    const back = await openMerchantSocket(merchantId, staff, { since: String(since), epoch });
    expectReplayed(back, since, epoch, missed);
    back.close();
    checkAndClose("merchant", other);
  });

  it("a station screen (?station=grill) is the same stream with the same seq, and resumes gap-free from it", async () => {
    const stations = [
      { id: "grill", name: "Grill", match: ["*burger*"] },
      { id: "bar", name: "Bar", match: ["lemonade", "*shake"] },
    ];
    const { merchantId, staff } = await setupMerchant({ stations });
    const expo = await openMerchantSocket(merchantId, staff);
    const grill = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "grill-1"), {
      station: "grill",
    });
    expect(grill.envelopes[0].payload.merchant.stations).toEqual(stations);
    const order = await acceptedOrder(merchantId, staff);
    await act(grill, "MERCHANT_ITEM_DONE", { orderId: order.id, index: 0, done: true });
    const { epoch, since } = await leaveAfter(grill, 3);
    await setAvailability(merchantId, staff, { mode: "BUSY" });
    await evictDurableObject(merchantStub(merchantId));
    await act(expo, "MERCHANT_ADJUST_ITEMS", { orderId: order.id, changes: [{ index: 1, quantity: 0 }], reason: "x" });
    const all = await streamCount(expo, 5);
    const back = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "grill-1"), {
      station: "grill",
      since: String(since),
      epoch,
    });
    expectReplayed(back, since, epoch, all.slice(since));
    checkFrames(grill, "merchant");
    back.close();
    checkAndClose("merchant", expo);
  });

  it("after an eviction, a new screen's SNAPSHOT carries the availability and sold-out list from storage", async () => {
    const { merchantId, staff } = await setupMerchant();
    const until = iso(Date.now() + 30 * MINUTE);
    const paused = (await setAvailability(merchantId, staff, { mode: "PAUSED", until, reason: "fryer" })).body;
    const soldOut = (await setSoldOut(merchantId, staff, [{ name: "Fries" }])).body;
    await evictDurableObject(merchantStub(merchantId));
    const screen = await openMerchantSocket(merchantId, staff);
    expect(screen.envelopes[0]).toMatchObject({
      event: "SNAPSHOT",
      seq: 2,
      payload: { merchant: { availability: paused.availability, soldOut: soldOut.items } },
    });
    checkAndClose("merchant", screen);
  });

  it("the customer's phone resumes across the order room's eviction with the kitchen's changes and their merchantAction", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff, "READY");
    await flushOutbox(merchantId);
    const customer = await tokens.customer();
    const phone = await openOrderSocket(order.id, customer);
    const epoch = phone.envelopes[0].payload.epoch as string;
    const since = phone.envelopes[0].seq as number;
    phone.close();
    await phone.waitClosed();
    await orderAction(merchantId, order.id, "recall", staff);
    await orderAction(merchantId, order.id, "adjust", staff, { changes: [{ index: 0, quantity: 1 }], reason: "x" });
    await flushOutbox(merchantId);
    await evictDurableObject(orderStub(order.id));
    const back = await openOrderSocket(order.id, customer, { since: String(since), epoch });
    expect(back.stream().map((e) => [e.seq, e.event, e.payload.merchantAction])).toEqual([
      [since + 1, "MERCHANT_RECALLED", "RECALL"],
      [since + 2, "ORDER_ADJUSTED", "ADJUST_ITEMS"],
    ]);
    expect(back.envelopes.at(-1)).toMatchObject({ event: "REPLAY_DONE", seq: since + 2 });
    checkFrames(back, "order", { since });
    back.close();
  });
});
