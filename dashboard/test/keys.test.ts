/**
 * Bump-bar keys, pure: each key and what is under the cursor → the Action it stands for — the
 * same Action the card's button carries — and focus movement over the columns.
 */
import { describe, expect, it } from "vitest";
import { ticketOffers } from "../src/kds/actions.ts";
import { type KeyContext, keyAction, moveFocus } from "../src/kds/keys.ts";
import { boardOf, key, ticket } from "./kds-fixtures.ts";

const placed = ticket("p", "PLACED");
const cooking = ticket("c", "PREPARING", "cooking", { prepMinutes: 15 });
const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  focused: placed,
  rejectMenu: null,
  alarm: null,
  ...over,
});
const act = (k: string, c = ctx(), shift = false) => keyAction(key(k, shift), c);

describe("keys → actions", () => {
  it("arrows move the focus", () => {
    expect(act("ArrowLeft")).toEqual({ action: { kind: "move-focus", dx: -1, dy: 0 } });
    expect(act("ArrowRight")).toEqual({ action: { kind: "move-focus", dx: 1, dy: 0 } });
    expect(act("ArrowUp")).toEqual({ action: { kind: "move-focus", dx: 0, dy: -1 } });
    expect(act("ArrowDown")).toEqual({ action: { kind: "move-focus", dx: 0, dy: 1 } });
  });

  it("letters act on the focused ticket; Shift makes A and R act on the selection", () => {
    expect(act("a")).toEqual({ action: { kind: "accept", orderId: "m1.p" } });
    expect(act("s")).toEqual({ action: { kind: "start", orderId: "m1.p" } });
    expect(act("r")).toEqual({ action: { kind: "ready", orderId: "m1.p" } });
    expect(act("x")).toEqual({ action: { kind: "open-reject", orderId: "m1.p" } });
    expect(act(" ")).toEqual({ action: { kind: "select", orderId: "m1.p" } });
    expect(act("+")).toEqual({ action: { kind: "prep-time", orderId: "m1.p", delta: 5 } });
    expect(act("=")).toEqual({ action: { kind: "prep-time", orderId: "m1.p", delta: 5 } });
    expect(act("-")).toEqual({ action: { kind: "prep-time", orderId: "m1.p", delta: -5 } });
    expect(act("_")).toEqual({ action: { kind: "prep-time", orderId: "m1.p", delta: -5 } });
    expect(act("A", ctx(), true)).toEqual({ action: { kind: "bulk-accept" } });
    expect(act("R", ctx(), true)).toEqual({ action: { kind: "bulk-ready" } });
    expect(act("m")).toEqual({ action: { kind: "mute" } });
  });

  it("digits accept with a quick prep time, or pick a reject reason while the menu is open", () => {
    expect(act("1")).toEqual({ action: { kind: "accept", orderId: "m1.p", prepMinutes: 10 } });
    expect(act("4")).toEqual({ action: { kind: "accept", orderId: "m1.p", prepMinutes: 30 } });
    expect(act("5")).toBeNull();
    const menu = ctx({ focused: cooking, rejectMenu: "m1.p" });
    expect(act("1", menu)).toEqual({ action: { kind: "reject", orderId: "m1.p", reason: "Too busy right now" } });
    // "Item sold out" asks which item ran out first (it is 86'd in the same gesture).
    expect(act("2", menu)).toEqual({ action: { kind: "pick-sold-out", orderId: "m1.p" } });
    expect(act("5", menu)).toEqual({ action: { kind: "close-reject" } });
  });

  it("the 15-minute key and the 15-minute button are the same action", () => {
    const [, fifteen] = ticketOffers(placed, boardOf(placed)).accept;
    expect(act("2")?.action).toEqual(fifteen);
  });

  it("Enter answers the alarm first, then moves the focused ticket on", () => {
    expect(act("Enter", ctx({ alarm: "m1.gone" }))).toEqual({ action: { kind: "acknowledge", orderId: "m1.gone" } });
    expect(act("Enter")).toEqual({ action: { kind: "accept", orderId: "m1.p" } });
    expect(act("Enter", ctx({ focused: cooking }))).toEqual({ action: { kind: "ready", orderId: "m1.c" } });
    expect(act("Enter", ctx({ focused: ticket("r", "READY", "ready") }))).toEqual({ action: null });
    // Not while that ticket's reject reasons are open.
    expect(act("Enter", ctx({ rejectMenu: "m1.p" }))).toEqual({ action: null });
  });

  it("Esc closes the reject menu, else clears the selection", () => {
    expect(act("Escape", ctx({ rejectMenu: "m1.p" }))).toEqual({ action: { kind: "close-reject" } });
    expect(act("Escape")).toEqual({ action: { kind: "clear-selection" } });
  });

  it("with nothing focused the board still takes its keys, and does nothing", () => {
    const none = ctx({ focused: undefined });
    for (const k of ["a", "s", "r", "x", " ", "+", "2", "Enter"]) expect(act(k, none), k).toEqual({ action: null });
  });

  it("leaves other keys and modified keys to the browser", () => {
    expect(act("q")).toBeNull();
    expect(act("0")).toBeNull();
    expect(keyAction({ ...key("r"), ctrlKey: true }, ctx())).toBeNull();
    expect(keyAction({ ...key("Enter"), metaKey: true }, ctx())).toBeNull();
  });
});

describe("keys of v2", () => {
  const withItems = ticket("c", "PREPARING", "cooking", {
    items: [
      { name: "Smash burger", quantity: 1, unitPriceCents: 1200, doneAt: "2030-01-01T12:00:00.000Z" },
      { name: "Fries", quantity: 1, unitPriceCents: 450 },
      { name: "Cola", quantity: 1, unitPriceCents: 300 },
    ],
  });

  it("U recalls, E changes items, P prints, K opens the kitchen panel", () => {
    expect(act("u")).toEqual({ action: { kind: "recall", orderId: "m1.p" } });
    expect(act("e")).toEqual({ action: { kind: "open-adjust", orderId: "m1.p" } });
    expect(act("p")).toEqual({ action: { kind: "print", orderId: "m1.p" } });
    expect(act("k")).toEqual({ action: { kind: "toggle-panel" } });
    expect(act("k", ctx({ focused: undefined }))).toEqual({ action: { kind: "toggle-panel" } });
  });

  it("D marks the next item not yet done — of this screen's station", () => {
    expect(act("d", ctx({ focused: withItems }))).toEqual({
      action: { kind: "item-done", orderId: "m1.c", index: 1, done: true },
    });
    const bar = { id: "bar", name: "Bar", match: ["cola"] };
    expect(act("d", ctx({ focused: withItems, station: bar }))).toEqual({
      action: { kind: "item-done", orderId: "m1.c", index: 2, done: true },
    });
  });

  it("sold out: digits pick the item (reject + 86), Enter just rejects, Esc goes back to the reasons", () => {
    const menu = ctx({ focused: withItems, rejectMenu: "m1.c", rejectStep: "item", rejectTicket: withItems });
    expect(act("2", menu)).toEqual({
      action: { kind: "reject", orderId: "m1.c", reason: "Item sold out", soldOut: "Fries" },
    });
    expect(act("9", menu)).toEqual({ action: { kind: "open-reject", orderId: "m1.c" } });
    expect(act("Enter", menu)).toEqual({ action: { kind: "reject", orderId: "m1.c", reason: "Item sold out" } });
    expect(act("Escape", menu)).toEqual({ action: { kind: "open-reject", orderId: "m1.c" } });
  });

  it("Esc closes the kitchen panel first, then the item editor; Enter does not bump a ticket being edited", () => {
    expect(act("Escape", ctx({ panel: true, adjusting: "m1.p" }))).toEqual({ action: { kind: "toggle-panel" } });
    expect(act("Escape", ctx({ adjusting: "m1.p", rejectMenu: null }))).toEqual({ action: { kind: "close-adjust" } });
    expect(act("Enter", ctx({ adjusting: "m1.p" }))).toEqual({ action: null });
  });
});

describe("focus movement", () => {
  it("moves across columns, keeping the row", () => {
    const cols = [["a1", "a2", "a3"], [], ["c1", "c2"]];
    expect(moveFocus(cols, null, 0, 1)).toBe("a1");
    expect(moveFocus(cols, "a1", 0, 1)).toBe("a2");
    expect(moveFocus(cols, "a3", 1, 0)).toBe("c2");
    expect(moveFocus(cols, "c1", -1, 0)).toBe("a1");
    expect(moveFocus(cols, "c1", 1, 0)).toBe("c1");
  });
});
