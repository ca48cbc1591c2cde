/**
 * Auto-pause (issue 14; CONTRACT.md, Additions v2: "A merchant may pause itself after several
 * orders in a row expire unanswered"): after N orders in a row expire (default 3; an accept or
 * reject resets the count), or when no kitchen screen has been connected for M minutes (default
 * 15; a screen coming back cancels it), the room pauses its merchant as the system, a stream event
 * saying why — which a screen coming back finds in its SNAPSHOT. Per merchant; 0 turns a rule off.
 */
import { describe, expect, it } from "vitest";
import type { Availability } from "../../schema/index.ts";
import { expectError } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { checkAndClose } from "./support/frames.ts";
import {
  alarmAt,
  merchantAt,
  merchantEvents,
  merchantStream,
  MINUTE,
  orderAction,
  setAvailability,
  tryPlace,
} from "./support/kitchen.ts";
import { lastScreensLeaveRightAfter, scheduledAt, setRoomClock } from "./support/room-seams.ts";
import { barrier, openMerchantSocket, type TestSocket, waitFor } from "./support/sockets.ts";

const SYSTEM = { role: "system", id: "availability" };

async function place(merchantId: string, n = 1): Promise<string[]> {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const res = await tryPlace(merchantId);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

const modes = async (merchantId: string) =>
  (await merchantEvents(merchantId)).map((e) => (e.payload.availability as Availability).mode);

/** Closes the merchant's last screen and waits until the room has armed the no-screen pause. */
async function lastScreenLeaves(merchantId: string, screen: TestSocket): Promise<number> {
  screen.close();
  await screen.waitClosed();
  let due: number | null = null;
  await waitFor(async () => (due = await scheduledAt(merchantId, "no-screen", "merchant")) !== null);
  return due!;
}

describe("after orders expire unanswered", () => {
  it("3 in a row (default): the system pauses the merchant, in the same alarm, saying why; placements are refused", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    await place(merchantId, 3);
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    await barrier(screen);
    const events = screen.stream();
    expect(events.map((e) => e.event)).toEqual([
      ...Array(3).fill("ORDER_CREATED"),
      ...Array(3).fill("ORDER_EXPIRED"),
      "MERCHANT_AVAILABILITY_CHANGED",
    ]);
    const paused = events.at(-1);
    expect(paused.payload.actor).toEqual(SYSTEM);
    expect(paused.payload.order).toBeUndefined();
    expect(paused.payload.availability).toMatchObject({
      mode: "PAUSED",
      since: new Date(t0 + 10 * MINUTE).toISOString(),
    });
    expect(paused.payload.availability.until).toBeUndefined();
    expect(paused.payload.availability).toMatchObject({ reason: "auto", detail: expect.stringMatching(/expired/) });
    const refused = expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    expect(refused.details).toMatchObject({ reason: paused.payload.availability.reason });
    const back = await openMerchantSocket(merchantId, staff);
    expect(back.envelopes[0].payload.merchant.availability).toEqual(paused.payload.availability);
    checkAndClose("merchant", screen, back);
  });

  it("an accept resets the count, as does reopening; only the third expiry in a row pauses", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    await place(merchantId, 2);
    await setRoomClock(merchantId, t0 + 5 * MINUTE);
    const [answered] = await place(merchantId);
    await alarmAt(merchantId, t0 + 10 * MINUTE); // two expire
    expect((await orderAction(merchantId, answered!, "accept", staff)).status).toBe(200);
    await place(merchantId, 2);
    await alarmAt(merchantId, t0 + 20 * MINUTE); // two more: two in a row since the accept
    expect(await modes(merchantId)).toEqual([]);
    await place(merchantId);
    await alarmAt(merchantId, t0 + 30 * MINUTE); // the third in a row
    expect(await modes(merchantId)).toEqual(["PAUSED"]);

    // The kitchen is back: reopening starts the count again.
    await setAvailability(merchantId, staff, { mode: "OPEN" });
    await place(merchantId, 2);
    await alarmAt(merchantId, t0 + 40 * MINUTE);
    expect(await modes(merchantId)).toEqual(["PAUSED", "OPEN"]);
    checkAndClose("merchant", screen);
  });

  it("a reject resets the count too; N comes from the merchant's autoPause settings", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ autoPause: { afterExpiredInARow: 2, noScreenMinutes: 0 } });
    await place(merchantId);
    await setRoomClock(merchantId, t0 + 5 * MINUTE);
    const [rejected] = await place(merchantId);
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    await orderAction(merchantId, rejected!, "reject", staff, { reason: "out of dough" });
    await place(merchantId);
    await alarmAt(merchantId, t0 + 20 * MINUTE);
    expect(await modes(merchantId)).toEqual([]);
    await place(merchantId);
    await alarmAt(merchantId, t0 + 30 * MINUTE);
    expect(await modes(merchantId)).toEqual(["PAUSED"]);
  });

  it("0 turns it off; a merchant already paused is not paused again (its own reason stays)", async () => {
    const off = await merchantAt({ autoPause: { afterExpiredInARow: 0, noScreenMinutes: 0 } });
    await place(off.merchantId, 5);
    await alarmAt(off.merchantId, off.t0 + 10 * MINUTE);
    expect(await modes(off.merchantId)).toEqual([]);
    expect((await tryPlace(off.merchantId)).status).toBe(201);

    const { merchantId, staff, t0 } = await merchantAt();
    await place(merchantId, 3);
    await setAvailability(merchantId, staff, { mode: "PAUSED", reason: "closing early" });
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    const events = await merchantEvents(merchantId);
    expect(events.map((e) => e.payload.availability.reason)).toEqual(["closing early"]);
    expect((await merchantStream(merchantId)).filter((e) => e.event === "ORDER_EXPIRED")).toHaveLength(3);
  });

  // CONTRACT.md: "A merchant may pause itself (`reason: "auto"`)": the reason is exactly that; the
  // why, in words, is in `detail` (an addition).
  it('an auto-pause carries reason "auto", as the contract names it, and says why in detail', async () => {
    const { merchantId, t0 } = await merchantAt();
    await place(merchantId, 3);
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    const [event] = await merchantEvents(merchantId);
    expect(event?.payload.availability.reason).toBe("auto");
    expect(event?.payload.availability.detail).toMatch(/3 orders in a row expired/);
  });
});

describe("when no kitchen screen is connected", () => {
  it("the last screen leaving arms it for noScreenMinutes (15 by default): at that time the system pauses; a screen coming back sees why", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    const due = await lastScreenLeaves(merchantId, screen);
    expect(due).toBe(t0 + 15 * MINUTE);
    await alarmAt(merchantId, due - 1);
    expect(await modes(merchantId)).toEqual([]);
    await alarmAt(merchantId, due);
    const [event] = await merchantEvents(merchantId);
    expect(event).toMatchObject({ via: "system", payload: { actor: SYSTEM, availability: { mode: "PAUSED" } } });
    expect(event!.payload.availability).toMatchObject({ reason: "auto", detail: expect.stringMatching(/screen/) });
    expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    const back = await openMerchantSocket(merchantId, staff);
    expect(back.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: 1 });
    expect(back.envelopes[0].payload.merchant.availability).toEqual(event!.payload.availability);
    // Coming back does not reopen by itself: the kitchen decides.
    expect((await modes(merchantId)).at(-1)).toBe("PAUSED");
    checkAndClose("merchant", back);
  });

  it("a screen that comes back in time cancels it; while another kitchen screen stays, one leaving arms nothing", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ autoPause: { afterExpiredInARow: 3, noScreenMinutes: 5 } });
    const first = await openMerchantSocket(merchantId, staff);
    expect(await lastScreenLeaves(merchantId, first)).toBe(t0 + 5 * MINUTE);
    await setRoomClock(merchantId, t0 + 4 * MINUTE);
    const returned = await openMerchantSocket(merchantId, staff);
    expect(await scheduledAt(merchantId, "no-screen", "merchant")).toBeNull();
    const second = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-2"));
    second.close();
    await second.waitClosed();
    await alarmAt(merchantId, t0 + 30 * MINUTE);
    expect(await scheduledAt(merchantId, "no-screen", "merchant")).toBeNull();
    expect(await modes(merchantId)).toEqual([]);
    expect((await tryPlace(merchantId)).status).toBe(201);
    checkAndClose("merchant", returned);
  });

  it("the last screen leaving right after a settings change (its D1 projection still pending) arms the pause all the same", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    await openMerchantSocket(merchantId, staff);
    await lastScreensLeaveRightAfter(merchantId, { action: "MERCHANT_SET_AVAILABILITY", payload: { mode: "BUSY" } });
    expect(await scheduledAt(merchantId, "no-screen", "merchant")).toBe(t0 + 15 * MINUTE);
    await alarmAt(merchantId, t0 + 15 * MINUTE);
    expect(await modes(merchantId)).toEqual(["BUSY", "PAUSED"]);
  });

  it("a dispatch socket is not a kitchen screen; noScreenMinutes 0 turns the rule off", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ autoPause: { afterExpiredInARow: 3, noScreenMinutes: 10 } });
    const ops = await openMerchantSocket(merchantId, await tokens.dispatch());
    const kitchen = await openMerchantSocket(merchantId, staff);
    expect(await lastScreenLeaves(merchantId, kitchen)).toBe(t0 + 10 * MINUTE);
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    await barrier(ops);
    expect(ops.stream().map((e) => [e.event, e.payload.availability?.mode])).toEqual([
      ["MERCHANT_AVAILABILITY_CHANGED", "PAUSED"],
    ]);
    checkAndClose("merchant", ops);

    const off = await merchantAt({ autoPause: { afterExpiredInARow: 3, noScreenMinutes: 0 } });
    const screen = await openMerchantSocket(off.merchantId, off.staff);
    screen.close();
    await screen.waitClosed();
    await alarmAt(off.merchantId, off.t0 + 24 * 60 * MINUTE);
    expect(await scheduledAt(off.merchantId, "no-screen", "merchant")).toBeNull();
    expect(await modes(off.merchantId)).toEqual([]);
  });
});
