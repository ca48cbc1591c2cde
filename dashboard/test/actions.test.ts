/**
 * The action model, pure: which actions each order status allows (against a table written out
 * here from CONTRACT.md, not read from production code), what a card offers, what Enter does,
 * and the frames the commands send.
 */
import { describe, expect, it } from "vitest";
import type { OrderStatus } from "../../schema/index.ts";
import { type Action, bumpAction, isPossible, type OrderCommand, ticketOffers } from "../src/kds/actions.ts";
import { bulkRequest, orderRequest } from "../src/kds/commands.ts";
import { boardOf, ticket } from "./kds-fixtures.ts";

type Verb = "accept" | "reject" | "start" | "ready" | "prep-time";

/** What a merchant may do to an order in each status (CONTRACT.md: transitions, prep time changes). */
const MERCHANT_MAY: Record<OrderStatus, Verb[]> = {
  PLACED: ["accept", "reject"],
  ACCEPTED: ["start", "ready", "prep-time"],
  PREPARING: ["ready", "prep-time"],
  READY: [],
  PICKED_UP: [],
  DELIVERED: [],
  REJECTED: [],
  CANCELLED: [],
  EXPIRED: [],
};

const command = (verb: Verb, orderId: string): OrderCommand => {
  switch (verb) {
    case "accept":
      return { kind: "accept", orderId, prepMinutes: 15 };
    case "reject":
      return { kind: "reject", orderId, reason: "Kitchen problem" };
    case "prep-time":
      return { kind: "prep-time", orderId, delta: 5 };
    default:
      return { kind: verb, orderId };
  }
};

describe("guards per status", () => {
  for (const [status, allowed] of Object.entries(MERCHANT_MAY) as Array<[OrderStatus, Verb[]]>) {
    it(`${status}: ${allowed.join(", ") || "nothing"}`, () => {
      const t = ticket("a", status, "cooking", { prepMinutes: 15 });
      const board = boardOf(t);
      for (const verb of ["accept", "reject", "start", "ready", "prep-time"] as const) {
        const a = command(verb, t.order.id);
        expect(isPossible(a, board), `${verb} on ${status}`).toBe(allowed.includes(verb));
        // A request goes out exactly when the action is possible.
        expect(orderRequest(a, board) !== null, `request for ${verb} on ${status}`).toBe(allowed.includes(verb));
      }
      // The reject reasons open only where rejecting is possible.
      expect(isPossible({ kind: "open-reject", orderId: t.order.id }, board)).toBe(allowed.includes("reject"));
    });
  }

  it("nothing is possible on a ticket that is not on the board", () => {
    expect(isPossible({ kind: "accept", orderId: "m1.gone" }, boardOf())).toBe(false);
    expect(isPossible({ kind: "select", orderId: "m1.gone" }, boardOf())).toBe(false);
  });

  it("a leaving ticket can be acknowledged but not selected", () => {
    const gone = ticket("g", "CANCELLED", "cooking");
    const board = boardOf(gone);
    expect(isPossible({ kind: "select", orderId: gone.order.id }, board)).toBe(false);
    expect(isPossible({ kind: "acknowledge", orderId: gone.order.id }, board)).toBe(true);
    expect(isPossible({ kind: "acknowledge", orderId: gone.order.id }, boardOf(ticket("g", "PLACED")))).toBe(false);
  });
});

describe("what a card offers", () => {
  const kinds = (actions: Action[]) => actions.map((a) => a.kind);

  it("new: accept with each quick prep time, and reject", () => {
    const t = ticket("a", "PLACED");
    const offers = ticketOffers(t, boardOf(t));
    expect(offers.accept).toEqual([10, 15, 20, 30].map((m) => ({ kind: "accept", orderId: "m1.a", prepMinutes: m })));
    expect(kinds(offers.steps)).toEqual(["open-reject"]);
    expect(offers.prep).toEqual([]);
  });

  it("accepted: start, ready, prep ±5; preparing: ready, prep ±5; ready: recall", () => {
    const expected: Array<[OrderStatus, string[], number[]]> = [
      ["ACCEPTED", ["start", "ready"], [-5, 5]],
      ["PREPARING", ["ready"], [-5, 5]],
      ["READY", ["recall"], []],
    ];
    for (const [status, steps, deltas] of expected) {
      const t = ticket("a", status, "cooking", { prepMinutes: 15 });
      const offers = ticketOffers(t, boardOf(t));
      expect(offers.accept, status).toEqual([]);
      expect(kinds(offers.steps), status).toEqual(steps);
      expect(
        offers.prep.map((a) => (a.kind === "prep-time" ? a.delta : 0)),
        status,
      ).toEqual(deltas);
    }
  });
});

describe("Enter moves a ticket on", () => {
  const expected: Array<[OrderStatus, string | null]> = [
    ["PLACED", "accept"],
    ["ACCEPTED", "ready"],
    ["PREPARING", "ready"],
    ["READY", null],
    ["CANCELLED", null],
  ];
  for (const [status, kind] of expected) {
    it(`${status} → ${kind ?? "nothing"}`, () => {
      expect(bumpAction(ticket("a", status, "cooking"))).toEqual(kind ? { kind, orderId: "m1.a" } : null);
    });
  }
});

describe("frames", () => {
  it("accept sends the prep time only when one was chosen", () => {
    const board = boardOf(ticket("a", "PLACED"));
    expect(orderRequest({ kind: "accept", orderId: "m1.a" }, board)?.frame).toEqual({
      action: "MERCHANT_ACCEPT",
      payload: { orderId: "m1.a" },
    });
    expect(orderRequest({ kind: "accept", orderId: "m1.a", prepMinutes: 20 }, board)).toEqual({
      command: { kind: "accept", orderId: "m1.a", prepMinutes: 20 },
      frame: { action: "MERCHANT_ACCEPT", payload: { orderId: "m1.a", prepMinutes: 20 } },
      orderIds: ["m1.a"],
      pending: "Accepting…",
    });
  });

  it("prep ±5 stays within 1–180 minutes and sends nothing at a bound", () => {
    const at = (prepMinutes: number) => boardOf(ticket("a", "PREPARING", "cooking", { prepMinutes }));
    const minus = { kind: "prep-time", orderId: "m1.a", delta: -5 } as const;
    const plus = { kind: "prep-time", orderId: "m1.a", delta: 5 } as const;
    expect(orderRequest(plus, at(15))?.frame).toEqual({
      action: "MERCHANT_UPDATE_PREP_TIME",
      payload: { orderId: "m1.a", prepMinutes: 20 },
    });
    expect(orderRequest(minus, at(3))?.frame.payload).toEqual({ orderId: "m1.a", prepMinutes: 1 });
    expect(orderRequest(minus, at(1))).toBeNull();
    expect(orderRequest(plus, at(178))?.frame.payload).toEqual({ orderId: "m1.a", prepMinutes: 180 });
    expect(orderRequest(plus, at(180))).toBeNull();
  });

  it("bulk commands take every selected ticket of their column, even one already shown as cancelled", () => {
    const board = boardOf(
      ticket("n1", "PLACED"),
      ticket("n2", "CANCELLED", "new"),
      ticket("c1", "PREPARING", "cooking"),
      ticket("r1", "READY", "ready"),
    );
    const selected = ["m1.n1", "m1.n2", "m1.c1", "m1.r1"];
    expect(bulkRequest({ kind: "bulk-accept" }, board, selected)?.frame).toEqual({
      action: "BULK_ACCEPT",
      payload: { orderIds: ["m1.n1", "m1.n2"] },
    });
    expect(bulkRequest({ kind: "bulk-ready" }, board, selected)?.frame).toEqual({
      action: "BULK_MARK_READY",
      payload: { orderIds: ["m1.c1"] },
    });
    expect(bulkRequest({ kind: "bulk-ready" }, board, ["m1.r1"])).toBeNull();
  });
});
