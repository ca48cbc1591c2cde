/**
 * The board reducer and the frame parser, pure, for every stream event of contract v2: the
 * kitchen's own events (no order), the new order events, scheduled orders waiting in the strip
 * and firing into the line, and events this screen does not know (seq advances, nothing else).
 */
import { describe, expect, it } from "vitest";
import type { Merchant, Order } from "../../schema/index.ts";
import { applySnapshot, applyStreamEvent, type BoardState, initialBoard, ticketsIn } from "../src/kds/board.ts";
import { applyRoomEvent, parseFrame } from "../src/kds/frames.ts";
import { iso, order, T0 } from "./kds-fixtures.ts";

const merchant: Merchant = {
  id: "m1",
  name: "Trattoria",
  acceptWindowSeconds: 600,
  defaultPrepMinutes: 15,
  availability: { mode: "OPEN" },
  soldOut: [],
};
const kitchen = { role: "merchant" as const, id: "kim" };
const system = { role: "system" as const, id: "availability" };

function live(orders: Order[] = [], seq = 0): BoardState {
  return applySnapshot(initialBoard(), { seq, epoch: "e1", orders, merchant }, T0).state;
}

const accepted = (o: Order, patch: Partial<Order> = {}): Order => ({
  ...o,
  status: "ACCEPTED",
  version: o.version + 1,
  prepMinutes: 15,
  acceptedAt: iso(T0),
  readyBy: iso(T0 + 900_000),
  ...patch,
});

describe("the kitchen's own events", () => {
  it("SNAPSHOT carries the kitchen: its availability and 86 list are on the board", () => {
    const s = applySnapshot(
      initialBoard(),
      {
        seq: 3,
        epoch: "e1",
        orders: [],
        merchant: {
          ...merchant,
          availability: { mode: "PAUSED", reason: "auto: 3 orders in a row expired unanswered" },
        },
      },
      T0,
    ).state;
    expect(s.merchant?.availability).toEqual({ mode: "PAUSED", reason: "auto: 3 orders in a row expired unanswered" });
  });

  it("MERCHANT_AVAILABILITY_CHANGED replaces the availability, advances seq, says who did it", () => {
    const paused = { mode: "PAUSED" as const, until: iso(T0 + 1_800_000) };
    const r = applyStreamEvent(
      live([], 4),
      { seq: 5, event: "MERCHANT_AVAILABILITY_CHANGED", availability: paused, actor: kitchen },
      T0,
    );
    expect(r.state.merchant?.availability).toEqual(paused);
    expect(r.state.cursor?.since).toBe(5);
    expect(r.state.stats.applied).toBe(1);
    expect(r.effects).toEqual([{ kind: "availability", availability: paused, actor: kitchen }]);
    expect(r.state.tickets).toEqual({});
  });

  it("SOLD_OUT_CHANGED replaces the 86 list", () => {
    const items = [{ name: "Lemonade", until: iso(T0 + 3_600_000) }];
    let s = applyStreamEvent(live(), { seq: 1, event: "SOLD_OUT_CHANGED", soldOut: items, actor: kitchen }, T0).state;
    expect(s.merchant?.soldOut).toEqual(items);
    s = applyStreamEvent(s, { seq: 2, event: "SOLD_OUT_CHANGED", soldOut: [], actor: system }, T0).state;
    expect(s.merchant?.soldOut).toEqual([]);
  });

  it("an event this screen does not know only advances the seq", () => {
    const a = order("a");
    const before = live([a], 7);
    const r = applyStreamEvent(before, { seq: 8, event: "MERCHANT_REBRANDED" }, T0);
    expect(r.state.cursor?.since).toBe(8);
    expect(r.state.tickets).toEqual(before.tickets);
    expect(r.state.merchant).toEqual(before.merchant);
    expect(r.effects).toEqual([]);
  });
});

describe("order events of v2", () => {
  it("ORDER_ADJUSTED and ITEM_DONE change the ticket in place", () => {
    const a = accepted(
      order("a", {
        items: [
          { name: "Fries", quantity: 2, unitPriceCents: 450 },
          { name: "Cola", quantity: 1, unitPriceCents: 300 },
        ],
      }),
    );
    let s = live([a], 1);
    const adjusted = {
      ...a,
      version: a.version + 1,
      items: [{ name: "Fries", quantity: 1, unitPriceCents: 450 }, a.items[1]!],
      totalCents: 750,
      adjustments: [{ at: iso(T0), reason: "Item ran out", changes: [{ index: 0, from: 2, to: 1 }] }],
    };
    s = applyStreamEvent(s, { seq: 2, event: "ORDER_ADJUSTED", order: adjusted }, T0).state;
    expect(s.tickets[a.id]?.order.totalCents).toBe(750);
    const done = {
      ...adjusted,
      version: adjusted.version + 1,
      items: [{ ...adjusted.items[0]!, doneAt: iso(T0) }, adjusted.items[1]!],
    };
    s = applyStreamEvent(s, { seq: 3, event: "ITEM_DONE", order: done }, T0).state;
    expect(s.tickets[a.id]?.order.items[0]?.doneAt).toBe(iso(T0));
    expect(s.tickets[a.id]?.column).toBe("cooking");
  });

  it("MERCHANT_RECALLED brings a ready ticket back to Cooking", () => {
    const r = { ...accepted(order("a")), status: "READY" as const, version: 3, readyAt: iso(T0) };
    const s = applyStreamEvent(
      live([r], 1),
      { seq: 2, event: "MERCHANT_RECALLED", order: { ...r, status: "PREPARING", version: 4, recalledAt: iso(T0) } },
      T0,
    ).state;
    expect(s.tickets[r.id]?.column).toBe("cooking");
  });

  it("MERCHANT_ACCEPTED says so (a screen that prints on accept prints it)", () => {
    const a = order("a");
    const r = applyStreamEvent(live([a], 1), { seq: 2, event: "MERCHANT_ACCEPTED", order: accepted(a) }, T0);
    expect(r.effects).toEqual([{ kind: "accepted", orderId: a.id }]);
  });
});

describe("scheduled orders", () => {
  const scheduled = order("s", { requestedFor: iso(T0 + 86_400_000), fireAt: iso(T0 + 85_500_000) });

  it("wait in the strip, new or accepted, sorted by when they fire; a new one still chimes", () => {
    const later = order("t", { requestedFor: iso(T0 + 90_000_000), fireAt: iso(T0 + 89_000_000) });
    let r = applyStreamEvent(live(), { seq: 1, event: "ORDER_CREATED", order: later }, T0);
    expect(r.effects).toEqual([{ kind: "new-order", orderId: later.id }]);
    r = applyStreamEvent(r.state, { seq: 2, event: "ORDER_CREATED", order: scheduled }, T0);
    expect(ticketsIn(r.state, "scheduled").map((t) => t.order.id)).toEqual([scheduled.id, later.id]);
    const s = applyStreamEvent(r.state, { seq: 3, event: "MERCHANT_ACCEPTED", order: accepted(scheduled) }, T0).state;
    expect(s.tickets[scheduled.id]?.column).toBe("scheduled");
    expect(ticketsIn(s, "new")).toEqual([]);
  });

  it("ORDER_FIRED moves it into the line, flashing, with a chime", () => {
    const acc = accepted(scheduled);
    const s = live([acc], 4);
    expect(s.tickets[acc.id]?.seen).toBe(true);
    const fired = { ...acc, version: acc.version + 1, firedAt: iso(T0 + 85_500_000) };
    const r = applyStreamEvent(s, { seq: 5, event: "ORDER_FIRED", order: fired }, T0);
    expect(r.effects).toEqual([{ kind: "fired", orderId: acc.id }]);
    expect(r.state.tickets[acc.id]).toMatchObject({ column: "cooking", seen: false });
    // Fired while still new: it joins New.
    const f2 = { ...scheduled, version: 2, firedAt: iso(T0) };
    expect(
      applyStreamEvent(live([scheduled], 1), { seq: 2, event: "ORDER_FIRED", order: f2 }, T0).state.tickets[
        scheduled.id
      ]?.column,
    ).toBe("new");
  });

  it("started early, it leaves the strip; cancelled while waiting, it raises no cooking alarm", () => {
    const acc = accepted(scheduled);
    const started = { ...acc, status: "PREPARING" as const, version: acc.version + 1 };
    expect(
      applyStreamEvent(live([acc], 1), { seq: 2, event: "MERCHANT_PREPARING", order: started }, T0).state.tickets[
        acc.id
      ]?.column,
    ).toBe("cooking");
    const cancelled = { ...acc, status: "CANCELLED" as const, version: acc.version + 1 };
    const r = applyStreamEvent(live([acc], 1), { seq: 2, event: "ORDER_CANCELLED", order: cancelled }, T0);
    expect(r.effects).toEqual([]);
    expect(r.state.tickets[acc.id]?.leaving?.alarm).toBe(false);
  });
});

describe("frames", () => {
  it("parses the kitchen's events and applies them", () => {
    const availability = { mode: "BUSY", extraPrepMinutes: 10 };
    const frame = parseFrame({
      event: "MERCHANT_AVAILABILITY_CHANGED",
      seq: 1,
      at: iso(T0),
      payload: { availability, actor: kitchen },
    });
    expect(frame && "event" in frame).toBe(true);
    if (!frame || !("event" in frame)) return;
    const r = applyRoomEvent(live(), frame.event, T0);
    expect(r.state.merchant?.availability).toEqual(availability);
  });

  it("a stream event with a name it does not know advances the seq; a broken known one is refused", () => {
    const unknown = parseFrame({ event: "KITCHEN_ON_FIRE", seq: 1, at: iso(T0), payload: { whatever: true } });
    expect(unknown).toEqual({ event: { event: "KITCHEN_ON_FIRE", seq: 1, unknown: true } });
    if (!unknown || !("event" in unknown)) return;
    expect(applyRoomEvent(live(), unknown.event, T0).state.cursor?.since).toBe(1);
    const warn = console.warn;
    console.warn = () => {};
    try {
      expect(parseFrame({ event: "ORDER_CREATED", seq: 1, at: iso(T0), payload: {} })).toBeNull();
    } finally {
      console.warn = warn;
    }
  });
});
