/**
 * The v2 commands, pure: availability and the 86 list (the list is replaced whole, so each
 * change sends the list with that one change), reject + 86 in one gesture, recall within its
 * window, item adjustments (only down) and item bumps — and what a key that does not fit says.
 */
import { describe, expect, it } from "vitest";
import { type Merchant, RECALL_WINDOW_MS } from "../../schema/index.ts";
import { isPossible, soldOutMenuOffers, ticketOffers } from "../src/kds/actions.ts";
import type { BoardState } from "../src/kds/board.ts";
import { orderRequest } from "../src/kds/commands.ts";
import { whyNot } from "../src/kds/hints.ts";
import { kitchenRequest } from "../src/kds/kitchen-commands.ts";
import { pressKey } from "../src/kds/key-press.ts";
import { initialScreen } from "../src/kds/screen.ts";
import { boardOf, iso, key, T0, ticket } from "./kds-fixtures.ts";

const merchant: Merchant = {
  id: "m1",
  name: "Trattoria",
  acceptWindowSeconds: 600,
  defaultPrepMinutes: 15,
  soldOut: [
    { name: "Tiramisu", until: iso(T0 + 3_600_000) },
    { name: "Old special", until: iso(T0 - 1) },
  ],
};
const withKitchen = (board: BoardState): BoardState => ({ ...board, merchant });
const items = [
  { name: "Pad thai", quantity: 2, unitPriceCents: 1250 },
  { name: "Cola", quantity: 1, unitPriceCents: 300 },
];

describe("kitchen commands", () => {
  const board = withKitchen(boardOf());

  it("pause for a while, pause until reopened, busy with extra minutes, open", () => {
    const frame = (c: Parameters<typeof kitchenRequest>[0]) => kitchenRequest(c, board, T0)?.frame;
    expect(frame({ kind: "availability", mode: "PAUSED", minutes: 30 })).toEqual({
      action: "MERCHANT_SET_AVAILABILITY",
      payload: { mode: "PAUSED", until: iso(T0 + 30 * 60_000) },
    });
    expect(frame({ kind: "availability", mode: "PAUSED" })?.payload).toEqual({ mode: "PAUSED" });
    expect(frame({ kind: "availability", mode: "BUSY", extraPrepMinutes: 20 })?.payload).toEqual({
      mode: "BUSY",
      extraPrepMinutes: 20,
    });
    expect(frame({ kind: "availability", mode: "OPEN", minutes: 5 })?.payload).toEqual({ mode: "OPEN" });
    expect(kitchenRequest({ kind: "availability", mode: "OPEN" }, board, T0)?.pending).toBe("Reopening…");
  });

  it("86 adds to the list in force (until the end of the day), once; back on takes it off", () => {
    expect(kitchenRequest({ kind: "eighty-six", name: " Cola " }, board, T0)?.frame).toEqual({
      action: "MERCHANT_SET_SOLD_OUT",
      payload: { items: [{ name: "Tiramisu", until: iso(T0 + 3_600_000) }, { name: "Cola" }] },
    });
    expect(kitchenRequest({ kind: "eighty-six", name: "TIRAMISU" }, board, T0)).toBeNull();
    expect(kitchenRequest({ kind: "eighty-six", name: "  " }, board, T0)).toBeNull();
    expect(kitchenRequest({ kind: "un-eighty-six", name: "tiramisu" }, board, T0)?.frame).toEqual({
      action: "MERCHANT_SET_SOLD_OUT",
      payload: { items: [] },
    });
    expect(kitchenRequest({ kind: "un-eighty-six", name: "Cola" }, board, T0)).toBeNull();
    // Before the first SNAPSHOT names the kitchen there is nothing to change.
    expect(kitchenRequest({ kind: "eighty-six", name: "Cola" }, boardOf(), T0)).toBeNull();
  });
});

describe("order commands of v2", () => {
  it("reject with 'Item sold out' offers each item: the reason names it", () => {
    const t = ticket("a", "PLACED", "new", { items });
    const offers = soldOutMenuOffers(t);
    expect(offers.map((a) => a.kind)).toEqual(["reject", "reject", "reject", "open-reject"]);
    expect(offers[0]).toEqual({ kind: "reject", orderId: "m1.a", reason: "Item sold out", soldOut: "Pad thai" });
    const r = orderRequest(offers[0] as Extract<(typeof offers)[0], { kind: "reject" }>, boardOf(t));
    expect(r?.frame).toEqual({
      action: "MERCHANT_REJECT",
      payload: { orderId: "m1.a", reason: "Item sold out (Pad thai)" },
    });
  });

  it("recall: a ready ticket, within 10 minutes of ready", () => {
    const ready = ticket("r", "READY", "ready", { readyAt: iso(T0) });
    const board = boardOf(ready);
    const recall = { kind: "recall", orderId: "m1.r" } as const;
    expect(orderRequest(recall, board, T0 + RECALL_WINDOW_MS)?.frame).toEqual({
      action: "MERCHANT_RECALL",
      payload: { orderId: "m1.r" },
    });
    expect(isPossible(recall, board, T0 + RECALL_WINDOW_MS + 1)).toBe(false);
    expect(ticketOffers(ready, board, T0 + RECALL_WINDOW_MS + 1).steps).toEqual([]);
    expect(isPossible({ kind: "recall", orderId: "m1.c" }, boardOf(ticket("c", "PREPARING", "cooking")), T0)).toBe(
      false,
    );
    expect(whyNot(recall, board, T0 + RECALL_WINDOW_MS + 1)).toBe(
      "#R: can't recall — it has been ready for more than 10 min",
    );
  });

  it("adjust: only lower, never all of it, only after accepting", () => {
    const t = ticket("a", "ACCEPTED", "cooking", { items });
    const board = boardOf(t);
    const adjust = (changes: Array<{ index: number; quantity: number }>) =>
      orderRequest({ kind: "adjust", orderId: "m1.a", reason: "Item ran out", changes }, board)?.frame ?? null;
    expect(adjust([{ index: 0, quantity: 1 }])).toEqual({
      action: "MERCHANT_ADJUST_ITEMS",
      payload: { orderId: "m1.a", changes: [{ index: 0, quantity: 1 }], reason: "Item ran out" },
    });
    expect(adjust([{ index: 0, quantity: 2 }])).toBeNull();
    expect(adjust([{ index: 0, quantity: 3 }])).toBeNull();
    expect(
      adjust([
        { index: 0, quantity: 0 },
        { index: 1, quantity: 0 },
      ]),
    ).toBeNull();
    expect(isPossible({ kind: "open-adjust", orderId: "m1.p" }, boardOf(ticket("p", "PLACED")))).toBe(false);
    expect(ticketOffers(t, board).tools.map((a) => a.kind)).toEqual(["open-adjust", "print"]);
  });

  it("item done: cooking only, and only when it changes something", () => {
    const t = ticket("a", "PREPARING", "cooking", { items: [items[0]!, { ...items[1]!, doneAt: iso(T0) }] });
    const board = boardOf(t);
    expect(orderRequest({ kind: "item-done", orderId: "m1.a", index: 0, done: true }, board)?.frame).toEqual({
      action: "MERCHANT_ITEM_DONE",
      payload: { orderId: "m1.a", index: 0, done: true },
    });
    expect(orderRequest({ kind: "item-done", orderId: "m1.a", index: 1, done: true }, board)).toBeNull();
    expect(orderRequest({ kind: "item-done", orderId: "m1.a", index: 1, done: false }, board)).not.toBeNull();
    expect(orderRequest({ kind: "item-done", orderId: "m1.a", index: 5, done: true }, board)).toBeNull();
    const placed = boardOf(ticket("p", "PLACED", "new", { items }));
    expect(orderRequest({ kind: "item-done", orderId: "m1.p", index: 0, done: true }, placed)).toBeNull();
  });
});

describe("a key that does not fit the ticket says why", () => {
  const placed = ticket("p", "PLACED");
  const screen = { ...initialScreen(), focused: "m1.p" };

  it("S on a new ticket: accept it first", () => {
    expect(pressKey(key("s"), screen, boardOf(placed), T0)).toEqual({
      action: null,
      hint: "#P: can't start — it is new: accept it first (A or 1–4)",
    });
  });

  it("A on a cooking ticket, U on one not ready, D when every item is done", () => {
    const cooking = ticket("c", "PREPARING", "cooking", { items: [{ ...items[0]!, doneAt: iso(T0) }] });
    const on = { ...initialScreen(), focused: "m1.c" };
    expect(pressKey(key("a"), on, boardOf(cooking), T0)?.hint).toBe("#C: can't accept — it is already cooking");
    expect(pressKey(key("u"), on, boardOf(cooking), T0)?.hint).toBe(
      "#C: can't recall — only a ready ticket can be recalled",
    );
    expect(pressKey(key("d"), on, boardOf(cooking), T0)?.hint).toBe(
      "#C: can't mark an item done — every item is already done",
    );
  });

  it("a key that fits acts, with no hint", () => {
    expect(pressKey(key("a"), screen, boardOf(placed), T0)).toEqual({
      action: { kind: "accept", orderId: "m1.p" },
      hint: null,
    });
    expect(pressKey(key("q"), screen, boardOf(placed), T0)).toBeNull();
  });
});
