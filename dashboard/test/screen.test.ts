/** This screen's own state, pure: focus, selection, the reject menu and notices under screen actions. */
import { describe, expect, it } from "vitest";
import { applyScreenAction, addNotice, initialScreen, pruneScreen, type ScreenState } from "../src/kds/screen.ts";
import { boardOf, T0, ticket } from "./kds-fixtures.ts";

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
});
