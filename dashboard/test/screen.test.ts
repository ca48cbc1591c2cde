/** This screen's own state, pure: focus, selection, the reject menu and notices under screen actions. */
import { describe, expect, it } from "vitest";
import {
  applyScreenAction,
  addNotice,
  focusLanes,
  initialScreen,
  pruneScreen,
  type ScreenState,
} from "../src/kds/screen.ts";
import { boardOf, iso, T0, ticket } from "./kds-fixtures.ts";

describe("screen actions", () => {
  it("selecting toggles, looks at the ticket, and never takes a leaving one", () => {
    const fresh = { ...ticket("a", "PLACED"), seen: false };
    const board = boardOf(fresh, ticket("g", "CANCELLED"));
    let r = applyScreenAction(initialScreen(), board, { kind: "select", orderId: "m1.a" });
    expect([...r.screen.selected]).toEqual(["m1.a"]);
    expect(r.board.tickets["m1.a"]?.seen).toBe(true);
    r = applyScreenAction(r.screen, r.board, { kind: "select", orderId: "m1.a" });
    expect([...r.screen.selected]).toEqual([]);
    r = applyScreenAction(r.screen, r.board, { kind: "select", orderId: "m1.g" });
    expect([...r.screen.selected]).toEqual([]);
  });

  it("the reject menu opens only where rejecting is possible, and closes when it no longer is", () => {
    const board = boardOf(ticket("a", "PLACED"), ticket("c", "ACCEPTED", "cooking"));
    const open = applyScreenAction(initialScreen(), board, { kind: "open-reject", orderId: "m1.a" }).screen;
    expect(open.rejectMenu).toBe("m1.a");
    expect(applyScreenAction(initialScreen(), board, { kind: "open-reject", orderId: "m1.c" }).screen.rejectMenu).toBe(
      null,
    );
    // Accepted on another screen meanwhile: the reasons go.
    expect(pruneScreen(open, boardOf(ticket("a", "ACCEPTED", "cooking"))).rejectMenu).toBe(null);
  });

  it("moving the focus closes the reject menu; acknowledging an alarm removes the ticket", () => {
    const alarmed = ticket("g", "CANCELLED", "cooking");
    const board = boardOf(ticket("a", "PLACED"), { ...alarmed, leaving: { since: T0, removeAt: null, alarm: true } });
    const screen: ScreenState = { ...initialScreen(), focused: "m1.g", rejectMenu: "m1.a" };
    const moved = applyScreenAction(screen, board, { kind: "move-focus", dx: -1, dy: 0 });
    expect(moved.screen).toMatchObject({ focused: "m1.a", rejectMenu: null });
    const acked = applyScreenAction(screen, board, { kind: "acknowledge", orderId: "m1.g" });
    expect(acked.board.tickets["m1.g"]).toBeUndefined();
    expect(acked.screen.focused).toBe(null);
  });

  it("keeps the four newest notices; dismissing one removes it", () => {
    let s = initialScreen();
    for (const n of [1, 2, 3, 4, 5]) s = addNotice(s, { tone: "ok", title: `n${n}`, lines: [], ttlMs: null }, T0);
    expect(s.notices.map((n) => n.title)).toEqual(["n2", "n3", "n4", "n5"]);
    s = applyScreenAction(s, boardOf(), { kind: "dismiss", noticeId: 3 }).screen;
    expect(s.notices.map((n) => n.title)).toEqual(["n2", "n4", "n5"]);
  });

  it("the item editor starts at the order's quantities, steps down to 0 and back up to them, never beyond", () => {
    const t = ticket("c", "ACCEPTED", "cooking", {
      items: [
        { name: "Fries", quantity: 2, unitPriceCents: 450 },
        { name: "Cola", quantity: 1, unitPriceCents: 300 },
      ],
    });
    const board = boardOf(t);
    let s = applyScreenAction(initialScreen(), board, { kind: "open-adjust", orderId: "m1.c" }).screen;
    expect(s.adjusting).toEqual({ orderId: "m1.c", quantities: [2, 1] });
    for (const _ of [1, 2, 3])
      s = applyScreenAction(s, board, { kind: "adjust-step", orderId: "m1.c", index: 0, delta: -1 }).screen;
    expect(s.adjusting?.quantities).toEqual([0, 1]);
    for (const _ of [1, 2, 3])
      s = applyScreenAction(s, board, { kind: "adjust-step", orderId: "m1.c", index: 0, delta: 1 }).screen;
    expect(s.adjusting?.quantities).toEqual([2, 1]);
    // Not on a new ticket; gone when the order is ready (another screen bumped it).
    expect(
      applyScreenAction(initialScreen(), boardOf(ticket("p", "PLACED")), { kind: "open-adjust", orderId: "m1.p" })
        .screen.adjusting,
    ).toBe(null);
    expect(pruneScreen(s, boardOf(ticket("c", "READY", "ready"))).adjusting).toBe(null);
  });

  it("reject: the sold-out step, and back", () => {
    const board = boardOf(ticket("a", "PLACED"));
    let s = applyScreenAction(initialScreen(), board, { kind: "pick-sold-out", orderId: "m1.a" }).screen;
    expect(s).toMatchObject({ rejectMenu: "m1.a", rejectStep: "item" });
    s = applyScreenAction(s, board, { kind: "open-reject", orderId: "m1.a" }).screen;
    expect(s).toMatchObject({ rejectMenu: "m1.a", rejectStep: "reason" });
  });

  it("a station's screen walks only its tickets, the Scheduled strip first; focus leaves a ticket it no longer shows", () => {
    const burger = { name: "Smash burger", quantity: 1, unitPriceCents: 1200 };
    const cola = { name: "Cola", quantity: 1, unitPriceCents: 300 };
    const board = {
      ...boardOf(
        ticket("n", "PLACED", "new", { items: [burger] }),
        ticket("c", "PREPARING", "cooking", { items: [cola] }),
        { ...ticket("s", "PLACED", "new", { items: [burger], fireAt: iso(T0 + 9e6) }), column: "scheduled" as const },
      ),
      merchant: {
        id: "m1",
        name: "x",
        acceptWindowSeconds: 600,
        defaultPrepMinutes: 15,
        stations: [{ id: "grill", name: "Grill", match: ["*burger*"] }],
      },
    };
    expect(focusLanes(initialScreen(), board)).toEqual([["m1.s"], ["m1.n"], ["m1.c"], []]);
    const grill = initialScreen("grill");
    expect(focusLanes(grill, board)).toEqual([["m1.s"], ["m1.n"], [], []]);
    const focusedOnCola = { ...initialScreen(), focused: "m1.c" };
    const picked = applyScreenAction(focusedOnCola, board, { kind: "pick-station", station: "grill" }).screen;
    expect(picked).toMatchObject({ station: "grill", focused: null });
  });
});
