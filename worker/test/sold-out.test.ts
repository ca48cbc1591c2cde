/**
 * Sold-out items, "86" (CONTRACT.md, Additions v2): `PUT /api/merchants/:id/sold-out` (and the
 * socket's MERCHANT_SET_SOLD_OUT) replaces the list, a stream event without an order; a placement
 * naming an item on it (trimmed, case-insensitively) is 409 ITEMS_UNAVAILABLE listing them; an
 * entry ends at its `until`, or at the end of the merchant's day in its time zone, by the alarm.
 */
import { describe, expect, it } from "vitest";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { setupMerchant } from "./support/fixtures.ts";
import { checkAndClose } from "./support/frames.ts";
import { uniqueId } from "./support/http.ts";
import {
  acceptedOrder,
  alarmAt,
  callers,
  getMerchant,
  getSoldOut,
  merchantEvents,
  MINUTE,
  setAvailability,
  setSoldOut,
  tryPlace,
} from "./support/kitchen.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { act, barrier, openMerchantSocket, rid, streamCount } from "./support/sockets.ts";

const item = (name: string, quantity = 1) => ({ name, quantity, unitPriceCents: 500 });
const iso = (ms: number) => new Date(ms).toISOString();

describe("who may", () => {
  it("the merchant's staff, dispatch and the platform may set and read the list; another store's staff, a customer, a driver get 403", async () => {
    const { merchantId } = await setupMerchant();
    const who = await callers(merchantId);
    for (const name of ["otherMerchant", "customer", "driver"] as const) {
      expectError(await setSoldOut(merchantId, who[name], [{ name: "Fries" }]), 403, "FORBIDDEN", name);
      expectError(await getSoldOut(merchantId, who[name]), 403, "FORBIDDEN", name);
    }
    expect(await merchantLog(merchantId)).toEqual([]);
    for (const name of ["own", "dispatch", "platform"] as const) {
      const res = await setSoldOut(merchantId, who[name], [{ name: `Fries ${name}` }]);
      expect(res.status, name).toBe(200);
      expect(res.body.items.map((i) => i.name)).toEqual([`Fries ${name}`]);
      // The platform reads it to grey the item out in its own app; dispatch to answer a customer.
      for (const reader of ["own", "dispatch", "platform"] as const) {
        expect((await getSoldOut(merchantId, who[reader])).body).toEqual(res.body);
      }
    }
    expect((await merchantEvents(merchantId)).map((e) => e.payload.actor.role)).toEqual([
      "merchant",
      "dispatch",
      "platform",
    ]);
    const ghost = uniqueId("ghost");
    expectError(await setSoldOut(ghost, who.dispatch, []), 404, "NOT_FOUND");
    expectError(await getSoldOut(ghost, who.dispatch), 404, "NOT_FOUND");
  });

  it("bad lists are 400 with zod details (duplicate names compared trimmed and case-insensitively, empty names); an `until` not ahead or over 7 days is 400", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const cases: [unknown, (string | number)[]][] = [
      [[{ name: "Fries" }, { name: "  FRIES " }], ["items"]],
      [[{ name: "  " }], ["items", 0, "name"]],
      [[{ name: "Fries", until: "later" }], ["items", 0, "until"]],
      [Array.from({ length: 201 }, (_, i) => ({ name: `Item ${i}` })), ["items"]],
      ["Fries", ["items"]],
    ];
    for (const [items, path] of cases) {
      expectZod400(await setSoldOut(merchantId, staff, items), path);
      const reply = await act(screen, "MERCHANT_SET_SOLD_OUT", { items });
      expect(reply.payload.code).toBe("BAD_REQUEST");
      expect(Array.isArray(reply.payload.details)).toBe(true);
    }
    const now = Date.now() + 10 * MINUTE;
    await setRoomClock(merchantId, now);
    for (const until of [now, now + 7 * 24 * 60 * MINUTE + 1]) {
      const rest = expectError(
        await setSoldOut(merchantId, staff, [{ name: "Fries", until: iso(until) }]),
        400,
        "BAD_REQUEST",
      );
      expect(
        (await act(screen, "MERCHANT_SET_SOLD_OUT", { items: [{ name: "Fries", until: iso(until) }] })).payload,
      ).toEqual(rest);
    }
    expect(await merchantLog(merchantId)).toEqual([]);
    checkAndClose("merchant", screen);
  });

  // The socket action is the same operation as its REST twin: dispatch may take it too.
  it("dispatch on the kitchen socket may set the sold-out list, as over REST", async () => {
    const { merchantId } = await setupMerchant();
    const ops = await openMerchantSocket(merchantId, await tokens.dispatch());
    try {
      const reply = await act(ops, "MERCHANT_SET_SOLD_OUT", { items: [{ name: "Fries" }] });
      expect(reply.event, JSON.stringify(reply.payload)).toBe("ACK");
    } finally {
      ops.close();
    }
  });
});

describe("the list and the stream", () => {
  it("PUT replaces the whole list ([] clears it); each change is SOLD_OUT_CHANGED on every screen, with seq and actor and no order; SNAPSHOT and GET carry it", async () => {
    const { merchantId, staff } = await setupMerchant();
    const a = await openMerchantSocket(merchantId, staff);
    const b = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-2"));
    const until = iso(Date.now() + 90 * MINUTE);
    const first = await setSoldOut(merchantId, staff, [{ name: "  Tiramisu " }, { name: "Fries", until }], "86-1");
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      { name: "Tiramisu", until: expect.any(String) },
      { name: "Fries", until },
    ]);
    const id = rid("86");
    const ack = await act(b, "MERCHANT_SET_SOLD_OUT", { items: [{ name: "Calzone" }] }, id);
    expect(ack).toMatchObject({ event: "ACK", requestId: id });
    expect(ack.payload.items.map((i: { name: string }) => i.name)).toEqual(["Calzone"]);
    for (const s of [a, b]) {
      const events = await streamCount(s, 2);
      expect(events.map((e) => [e.event, e.seq, e.requestId, e.payload.actor.id])).toEqual([
        ["SOLD_OUT_CHANGED", 1, "86-1", "staff-1"],
        ["SOLD_OUT_CHANGED", 2, id, "staff-2"],
      ]);
      expect(events[0].payload.items).toEqual(first.body.items);
      expect(events[1].payload.items).toEqual(ack.payload.items);
      for (const e of events) expect(e.payload.order).toBeUndefined();
    }
    const late = await openMerchantSocket(merchantId, staff);
    expect(late.envelopes[0].payload.merchant.soldOut).toEqual(ack.payload.items);
    expect((await getMerchant(merchantId, staff)).body.soldOut).toEqual(ack.payload.items);
    expect((await setSoldOut(merchantId, staff, [])).body).toEqual({ items: [] });
    expect((await getSoldOut(merchantId, staff)).body).toEqual({ items: [] });
    checkAndClose("merchant", a, b, late);
  });

  it("a placement naming sold-out items is 409 ITEMS_UNAVAILABLE listing each once (trimmed, any case); near names and other merchants are unaffected", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await setupMerchant();
    await setSoldOut(merchantId, staff, [{ name: "Margherita" }, { name: " tiramisu  " }]);
    const refused = await tryPlace(merchantId, {
      items: [item("  MARGHERITA "), item("Lemonade"), item("Tiramisu", 2), item("margherita")],
    });
    const error = expectError(refused, 409, "ITEMS_UNAVAILABLE");
    const listed = (error.details as { items: string[] }).items;
    expect(listed.map((n) => n.trim().toLowerCase()).sort()).toEqual(["margherita", "tiramisu"]);
    expect(listed).toHaveLength(2);
    expect(error.message).toMatch(/margherita/i);

    const platform = await tryPlace(
      merchantId,
      { items: [item("Tiramisu")], customerId: "cust-7", externalId: uniqueId("ext") },
      (await callers(merchantId)).platform,
    );
    expect(expectError(platform, 409, "ITEMS_UNAVAILABLE").details).toEqual({ items: ["Tiramisu"] });
    expect((await tryPlace(merchantId, { items: [item("Margherita Pizza"), item("Lemonade")] })).status).toBe(201);
    expect((await tryPlace(other.merchantId, { items: [item("Margherita")] })).status).toBe(201);
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual(["SOLD_OUT_CHANGED", "ORDER_CREATED"]);

    // A pause is answered first: the kitchen is not taking anything.
    await setAvailability(merchantId, staff, { mode: "PAUSED" });
    expectError(await tryPlace(merchantId, { items: [item("Tiramisu")] }), 409, "MERCHANT_PAUSED");
  });

  it("an 86 stops new orders only: an accepted order with the item goes on", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    await setSoldOut(merchantId, staff, [{ name: "Tiramisu" }]);
    const screen = await openMerchantSocket(merchantId, staff);
    expect((await act(screen, "MERCHANT_MARK_READY", { orderId: order.id })).event).toBe("ACK");
    checkAndClose("merchant", screen);
  });
});

describe("when an 86 ends", () => {
  it("each entry ends at its `until` by the alarm: SOLD_OUT_CHANGED by the system, and the item can be ordered again", async () => {
    // An hour to accept, so the order placed in between does not expire under the later alarm.
    const { merchantId, staff } = await setupMerchant({ acceptWindowSeconds: 3600 });
    const t0 = Date.now() + 5 * MINUTE;
    await setRoomClock(merchantId, t0);
    const screen = await openMerchantSocket(merchantId, staff);
    const soon = t0 + 20 * MINUTE;
    const later = t0 + 50 * MINUTE;
    await setSoldOut(merchantId, staff, [
      { name: "Fries", until: iso(soon) },
      { name: "Shake", until: iso(later) },
    ]);
    await alarmAt(merchantId, soon - 1);
    expectError(await tryPlace(merchantId, { items: [item("Fries")] }), 409, "ITEMS_UNAVAILABLE");

    await alarmAt(merchantId, soon);
    const [, ended] = await streamCount(screen, 2);
    expect(ended).toEqual({
      event: "SOLD_OUT_CHANGED",
      seq: 2,
      at: iso(soon),
      payload: { items: [{ name: "Shake", until: iso(later) }], actor: { role: "system", id: "availability" } },
    });
    expect((await tryPlace(merchantId, { items: [item("Fries")] })).status).toBe(201);
    expectError(await tryPlace(merchantId, { items: [item("Shake")] }), 409, "ITEMS_UNAVAILABLE");

    await alarmAt(merchantId, later);
    expect((await getSoldOut(merchantId, await tokens.dispatch())).body).toEqual({ items: [] });
    await barrier(screen);
    expect(screen.stream().map((e) => [e.event, e.payload.items?.length])).toEqual([
      ["SOLD_OUT_CHANGED", 2],
      ["SOLD_OUT_CHANGED", 1],
      ["ORDER_CREATED", undefined],
      ["SOLD_OUT_CHANGED", 0],
    ]);
    expect((await merchantLog(merchantId)).map((e) => e.via)).toEqual(["rest", "system", "rest", "system"]);
    checkAndClose("merchant", screen);
  });

  it("an `until`-less 86 lasts until the end of the merchant's day in its time zone (UTC by default)", async () => {
    // 2031-06-10 20:30 UTC is 05:30 the next morning in Tokyo and 13:30 in Los Angeles (PDT).
    const now = Date.parse("2031-06-10T20:30:00.000Z");
    const ends: [string | undefined, string][] = [
      [undefined, "2031-06-11T00:00:00.000Z"],
      ["Asia/Tokyo", "2031-06-11T15:00:00.000Z"],
      ["America/Los_Angeles", "2031-06-11T07:00:00.000Z"],
      // Kolkata (UTC+5:30) is already at 02:00 on the 11th: its day ends at 18:30 UTC on the 11th.
      ["Asia/Kolkata", "2031-06-11T18:30:00.000Z"],
    ];
    for (const [timeZone, end] of ends) {
      const { merchantId, staff } = await setupMerchant(timeZone ? { timeZone } : {});
      const endMs = Date.parse(end);
      await setRoomClock(merchantId, now);
      const res = await setSoldOut(merchantId, staff, [{ name: "Ramen" }]);
      expect(res.body.items, timeZone).toEqual([{ name: "Ramen", until: iso(endMs) }]);
      await alarmAt(merchantId, endMs - 1);
      expectError(await tryPlace(merchantId, { items: [item("ramen")] }), 409, "ITEMS_UNAVAILABLE");
      await alarmAt(merchantId, endMs);
      expect((await tryPlace(merchantId, { items: [item("ramen")] })).status, timeZone).toBe(201);
      const events = await merchantEvents(merchantId);
      expect(events.map((e) => [e.payload.items.length, e.payload.actor.role])).toEqual([
        [1, "merchant"],
        [0, "system"],
      ]);
    }
  });

  // New York springs forward at 02:00 on 2031-03-09: an 86 made at 01:30 EST ends at midnight
  // EDT (a 23-hour day), not 24 wall-clock hours after the morning's midnight.
  it("on a daylight-saving day an `until`-less 86 still ends at local midnight", async () => {
    const { merchantId, staff } = await setupMerchant({ timeZone: "America/New_York" });
    await setRoomClock(merchantId, Date.parse("2031-03-09T06:30:00.000Z"));
    const res = await setSoldOut(merchantId, staff, [{ name: "Bagel" }]);
    expect(res.body.items).toEqual([{ name: "Bagel", until: "2031-03-10T04:00:00.000Z" }]);
  });

  // "until a time": its end is announced even if another change lands before a late alarm.
  it("an 86 still announces its end when an availability change lands between `until` and the alarm", async () => {
    const { merchantId, staff } = await setupMerchant();
    const t0 = Date.now() + 5 * MINUTE;
    await setRoomClock(merchantId, t0);
    const screen = await openMerchantSocket(merchantId, staff);
    await setSoldOut(merchantId, staff, [{ name: "Fries", until: iso(t0 + 10 * MINUTE) }]);
    await setRoomClock(merchantId, t0 + 11 * MINUTE);
    await setAvailability(merchantId, staff, { mode: "BUSY" });
    await alarmAt(merchantId, t0 + 12 * MINUTE);
    await barrier(screen);
    try {
      // The 86's end came first, so it is announced first (by the system), then BUSY.
      expect(screen.stream().map((e) => e.event)).toEqual([
        "SOLD_OUT_CHANGED",
        "SOLD_OUT_CHANGED",
        "MERCHANT_AVAILABILITY_CHANGED",
      ]);
    } finally {
      screen.close();
    }
  });
});

describe("idempotency", () => {
  it("a retried 86 (same Idempotency-Key, or the same key as a socket requestId) applies once; another body with the key is 422", async () => {
    const { merchantId, staff } = await setupMerchant();
    const items = [{ name: "Fries" }];
    const first = await setSoldOut(merchantId, staff, items, "so-1");
    expect((await setSoldOut(merchantId, staff, items, "so-1")).body).toEqual(first.body);
    expectError(await setSoldOut(merchantId, staff, [], "so-1"), 422, "IDEMPOTENCY_MISMATCH");
    const screen = await openMerchantSocket(merchantId, staff);
    const replayed = await act(screen, "MERCHANT_SET_SOLD_OUT", { items }, "so-1");
    expect(replayed).toMatchObject({ event: "ACK", payload: first.body });
    const mismatch = await act(screen, "MERCHANT_SET_SOLD_OUT", { items: [] }, "so-1");
    expect(mismatch.payload.code).toBe("IDEMPOTENCY_MISMATCH");
    await barrier(screen);
    expect(screen.stream()).toEqual([]);
    expect(await merchantEvents(merchantId)).toHaveLength(1);
    checkAndClose("merchant", screen);
  });
});
