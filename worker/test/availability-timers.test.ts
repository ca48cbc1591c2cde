/**
 * A timed availability ends by itself (CONTRACT.md, Additions v2: "A timed state ends by itself
 * (stream event)"): the room's one alarm reopens the merchant at `until`, as the system, on every
 * screen. The room's clock is set to the instant instead of sleeping; runDurableObjectAlarm runs
 * the real handler. Assertions are on outcomes, not on whether a given alarm call found work: with
 * the room's clock frozen ahead of real time, the runtime may also run a due alarm by itself.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectError, expectGapless } from "./support/assertions.ts";
import { merchantStub } from "./support/fixtures.ts";
import { checkAndClose } from "./support/frames.ts";
import {
  alarmAt,
  getMerchant,
  merchantAt,
  merchantEvents,
  merchantStream,
  MINUTE,
  orderAction,
  setAvailability,
  setSoldOut,
  tryPlace,
} from "./support/kitchen.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { barrier, openMerchantSocket, streamCount } from "./support/sockets.ts";

const REOPENED_BY = { role: "system", id: "availability" };

describe("a timed state ends by itself", () => {
  it("a timed pause: nothing 1 ms before `until`; at `until` the system reopens it on every screen, and placements are taken again", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    const until = t0 + 30 * MINUTE;
    const paused = await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(until).toISOString() });
    expect(paused.status).toBe(200);
    expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");

    await alarmAt(merchantId, until - 1);
    expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    expect(await merchantLog(merchantId)).toHaveLength(1);

    await alarmAt(merchantId, until);
    const [, reopened] = await streamCount(screen, 2);
    expect(reopened).toEqual({
      event: "MERCHANT_AVAILABILITY_CHANGED",
      seq: 2,
      at: new Date(until).toISOString(),
      payload: { availability: { mode: "OPEN", since: new Date(until).toISOString() }, actor: REOPENED_BY },
    });
    expect((await merchantLog(merchantId)).map((e) => e.via)).toEqual(["rest", "system"]);
    expect((await getMerchant(merchantId, staff)).body.availability).toEqual(reopened.payload.availability);
    const placed = await tryPlace(merchantId);
    expect(placed.status).toBe(201);
    expect(placed.body.placedAt).toBe(new Date(until).toISOString());
    const late = await openMerchantSocket(merchantId, staff);
    expect(late.envelopes[0].payload.merchant.availability).toEqual(reopened.payload.availability);

    // Spent: running the alarm again announces nothing more.
    await alarmAt(merchantId, until + MINUTE);
    await barrier(screen);
    expect(screen.stream().map((e) => e.event)).toEqual([
      "MERCHANT_AVAILABILITY_CHANGED",
      "MERCHANT_AVAILABILITY_CHANGED",
      "ORDER_CREATED",
    ]);
    expectGapless(await merchantLog(merchantId));
    checkAndClose("merchant", screen, late);
  });

  it("a timed BUSY ends at `until`, and the accept default drops back to the merchant's own", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ defaultPrepMinutes: 12 });
    const until = t0 + 40 * MINUTE;
    const busy = { mode: "BUSY", extraPrepMinutes: 20, until: new Date(until).toISOString(), reason: "rush" };
    expect((await setAvailability(merchantId, staff, busy)).status).toBe(200);
    const early = await tryPlace(merchantId);
    expect((await orderAction(merchantId, early.body.id, "accept", staff)).body.prepMinutes).toBe(32);

    await alarmAt(merchantId, until);
    const events = await merchantEvents(merchantId);
    expect(events.map((e) => [e.payload.availability.mode, e.payload.actor])).toEqual([
      ["BUSY", { role: "merchant", id: "staff-1" }],
      ["OPEN", REOPENED_BY],
    ]);
    const later = await tryPlace(merchantId);
    expect((await orderAction(merchantId, later.body.id, "accept", staff)).body.prepMinutes).toBe(12);
  });

  it("once `until` has passed the state is over for reads and placements even before the alarm runs; the alarm then announces it once", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const until = t0 + 10 * MINUTE;
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(until).toISOString() });
    await setRoomClock(merchantId, until + 1);
    expect((await getMerchant(merchantId, staff)).body.availability).toEqual({ mode: "OPEN" });
    expect((await tryPlace(merchantId)).status).toBe(201);
    await runDurableObjectAlarm(merchantStub(merchantId));
    await runDurableObjectAlarm(merchantStub(merchantId));
    const events = (await merchantStream(merchantId)).map((e) => [e.event, e.payload.availability?.mode]);
    expect(events).toEqual([
      ["MERCHANT_AVAILABILITY_CHANGED", "PAUSED"],
      ["ORDER_CREATED", undefined],
      ["MERCHANT_AVAILABILITY_CHANGED", "OPEN"],
    ]);
  });

  it("a later change replaces a timed state: the old `until` reopens nothing, the new one does", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const first = t0 + 10 * MINUTE;
    const second = t0 + 20 * MINUTE;
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(first).toISOString() });
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(second).toISOString() });
    await alarmAt(merchantId, first);
    expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    expect(await merchantEvents(merchantId)).toHaveLength(2);
    await alarmAt(merchantId, second);
    expect((await merchantEvents(merchantId)).map((e) => e.payload.availability.mode)).toEqual([
      "PAUSED",
      "PAUSED",
      "OPEN",
    ]);

    // An untimed state replacing a timed one is not ended by the timed one's alarm.
    const third = second + 10 * MINUTE;
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(third).toISOString() });
    await setAvailability(merchantId, staff, { mode: "BUSY", extraPrepMinutes: 5 });
    await alarmAt(merchantId, third);
    expect((await getMerchant(merchantId, staff)).body.availability).toMatchObject({ mode: "BUSY" });
    expect((await merchantEvents(merchantId)).map((e) => e.payload.availability.mode)).toEqual([
      "PAUSED",
      "PAUSED",
      "OPEN",
      "PAUSED",
      "BUSY",
    ]);
  });

  it("the end of a timed pause survives eviction (it is in the room's storage, not in memory)", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const until = t0 + 15 * MINUTE;
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(until).toISOString() });
    await evictDurableObject(merchantStub(merchantId));
    // A new instance runs on real time until its clock is set again.
    await alarmAt(merchantId, until);
    expect((await merchantEvents(merchantId)).map((e) => [e.payload.availability.mode, e.via])).toEqual([
      ["PAUSED", "rest"],
      ["OPEN", "system"],
    ]);
    expect((await tryPlace(merchantId)).status).toBe(201);
  });

  // "A timed state ends by itself (stream event)": a merchant-level change (here an 86) landing
  // after `until` but before a late alarm first announces the end (writer.settleEnded).
  it("a timed pause still announces its end when an 86 lands between `until` and the alarm", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    const until = t0 + 10 * MINUTE;
    await setAvailability(merchantId, staff, { mode: "PAUSED", until: new Date(until).toISOString() });
    await setRoomClock(merchantId, until + 1_000);
    expect((await setSoldOut(merchantId, staff, [{ name: "Fries" }])).status).toBe(200);
    await alarmAt(merchantId, until + 2_000);
    await barrier(screen);
    try {
      expect(screen.stream().map((e) => [e.event, e.payload.availability?.mode])).toEqual([
        ["MERCHANT_AVAILABILITY_CHANGED", "PAUSED"],
        // The end came first, so it is announced first (by the system), then the 86.
        ["MERCHANT_AVAILABILITY_CHANGED", "OPEN"],
        ["SOLD_OUT_CHANGED", undefined],
      ]);
    } finally {
      screen.close();
    }
  });
});
