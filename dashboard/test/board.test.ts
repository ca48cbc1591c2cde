/** The board reducer, pure: every stream event applied exactly once, snapshots replace. */
import { describe, expect, it } from "vitest";
import type { Order, StreamEventName } from "../../schema/index.ts";
import {
  acknowledgeAlarm,
  alarms,
  applyReplayDone,
  applySnapshot,
  applyStreamEvent,
  expireLeaving,
  initialBoard,
  LEAVE_MS,
  markSeen,
  ticketsIn,
  type BoardState,
} from "../src/kds/board.ts";
import { iso, order, T0 } from "./kds-fixtures.ts";

const accepted = (o: Order, version = o.version + 1): Order => ({
  ...o,
  status: "ACCEPTED",
  version,
  prepMinutes: 15,
  acceptedAt: iso(T0 + 1000),
  readyBy: iso(T0 + 1000 + 15 * 60_000),
});

function stream(state: BoardState, seq: number, event: StreamEventName, o: Order, now = T0) {
  return applyStreamEvent(state, { seq, event, order: o }, now);
}

function live(orders: Order[] = [], seq = 0): BoardState {
  return applySnapshot(initialBoard(), { seq, epoch: "e1", orders }, T0).state;
}

describe("board reducer", () => {
  it("a snapshot replaces the board and sets the resume cursor", () => {
    const a = order("a");
    let s = live([a], 5);
    expect(s.cursor).toEqual({ epoch: "e1", since: 5 });
    expect(Object.keys(s.tickets)).toEqual([a.id]);
    s = applySnapshot(s, { seq: 9, epoch: "e1", orders: [order("b")] }, T0).state;
    expect(Object.keys(s.tickets)).toEqual(["m1.b"]);
    expect(s.stats.snapshots).toBe(2);
  });

  it("applies each stream event once and ignores repeats", () => {
    const a = order("a");
    let s = live();
    let r = stream(s, 1, "ORDER_CREATED", a);
    expect(r.effects).toEqual([{ kind: "new-order", orderId: a.id }]);
    s = r.state;
    r = stream(s, 1, "ORDER_CREATED", a);
    expect(r.state.stats).toMatchObject({ applied: 1, duplicates: 1 });
    expect(r.effects).toEqual([]);
    s = stream(r.state, 2, "MERCHANT_ACCEPTED", accepted(a)).state;
    expect(s.tickets[a.id]?.column).toBe("cooking");
    expect(s.cursor?.since).toBe(2);
    expect(s.stats.applied).toBe(2);
  });

  it("refuses a gap and asks to resume from the last applied seq", () => {
    const s = live([], 3);
    const r = stream(s, 5, "ORDER_CREATED", order("a"));
    expect(r.effects).toEqual([{ kind: "gap", expected: 4, got: 5 }]);
    expect(r.state.tickets).toEqual({});
    expect(r.state.cursor?.since).toBe(3);
  });

  it("never lets an older version overwrite a newer one", () => {
    const a = order("a");
    const s = live([accepted(a, 3)], 7);
    const r = stream(s, 8, "ORDER_CREATED", a);
    expect(r.state.tickets[a.id]?.order.version).toBe(3);
    expect(r.state.cursor?.since).toBe(8);
  });

  it("REPLAY_DONE must land exactly on the room's seq", () => {
    const s = live([], 4);
    expect(applyReplayDone(s, { seq: 4, epoch: "e1" }).effects).toEqual([]);
    expect(applyReplayDone(s, { seq: 6, epoch: "e1" }).effects[0]?.kind).toBe("gap");
    expect(applyReplayDone(s, { seq: 4, epoch: "other" }).effects[0]?.kind).toBe("gap");
  });

  it("picked-up orders leave at once; cancelled ones show a banner, then go", () => {
    const a = order("a");
    const b = order("b");
    let s = live([a, { ...accepted(b), status: "READY", version: 3, readyAt: iso(T0) }], 2);
    s = stream(s, 3, "ORDER_PICKED_UP", { ...s.tickets[b.id]!.order, status: "PICKED_UP", version: 4 }).state;
    expect(s.tickets[b.id]).toBeUndefined();
    s = stream(
      s,
      4,
      "ORDER_CANCELLED",
      { ...a, status: "CANCELLED", version: 2, cancelReason: "changed my mind" },
      T0 + 100,
    ).state;
    expect(s.tickets[a.id]?.leaving).toEqual({ since: T0 + 100, removeAt: T0 + 100 + LEAVE_MS, alarm: false });
    expect(s.tickets[a.id]?.column).toBe("new");
    expect(expireLeaving(s, T0 + 99 + LEAVE_MS).tickets[a.id]).toBeDefined();
    expect(expireLeaving(s, T0 + 100 + LEAVE_MS).tickets[a.id]).toBeUndefined();
  });

  it("a cancellation of a cooking order raises an alarm that stays until acknowledged", () => {
    const a = accepted(order("a"));
    let s = live([a], 1);
    const r = stream(s, 2, "ORDER_CANCELLED", { ...a, status: "CANCELLED", version: 3 });
    expect(r.effects).toEqual([{ kind: "cancelled-while-cooking", orderId: a.id }]);
    s = expireLeaving(r.state, T0 + 3_600_000);
    expect(alarms(s).map((t) => t.order.id)).toEqual([a.id]);
    // A snapshot (say after a long outage) keeps the unacknowledged alarm.
    s = applySnapshot(s, { seq: 10, epoch: "e1", orders: [] }, T0).state;
    expect(alarms(s)).toHaveLength(1);
    expect(acknowledgeAlarm(s, a.id).tickets).toEqual({});
  });

  it("new orders flash until seen; seen survives a resnapshot", () => {
    const a = order("a");
    let s = stream(live(), 1, "ORDER_CREATED", a).state;
    expect(s.tickets[a.id]?.seen).toBe(false);
    s = markSeen(s, [a.id]);
    expect(s.tickets[a.id]?.seen).toBe(true);
    s = applySnapshot(s, { seq: 1, epoch: "e1", orders: [a] }, T0).state;
    expect(s.tickets[a.id]?.seen).toBe(true);
  });

  it("sorts columns by what the kitchen works against", () => {
    const early = order("early", { acceptBy: iso(T0 + 100_000) });
    const late = order("late", { acceptBy: iso(T0 + 500_000) });
    const s = live([late, early]);
    expect(ticketsIn(s, "new").map((t) => t.order.id)).toEqual([early.id, late.id]);
  });
});
