import { describe, expect, it } from "vitest";
import { OrderStatusSchema, type OrderStatus } from "./order.ts";
import {
  canTransition,
  isFinal,
  isTransition,
  NON_STATUS_CHANGES,
  STATUS_TRANSITIONS,
  type ChangeMaker,
} from "./transitions.ts";

const STATUSES = OrderStatusSchema.options;
const MAKERS: ChangeMaker[] = ["customer", "merchant", "driver", "dispatch", "platform", "system"];

/**
 * The contract's table (CONTRACT.md "Status transitions"), typed out again from the page rather
 * than imported, so a drift of schema/transitions.ts from the contract fails here.
 */
const CONTRACT: [from: OrderStatus, to: OrderStatus, by: ChangeMaker][] = [
  ["PLACED", "ACCEPTED", "merchant"],
  ["PLACED", "REJECTED", "merchant"],
  ["PLACED", "EXPIRED", "system"],
  ["PLACED", "CANCELLED", "customer"],
  ["PLACED", "CANCELLED", "dispatch"],
  ["ACCEPTED", "PREPARING", "merchant"],
  ["ACCEPTED", "READY", "merchant"],
  ["PREPARING", "READY", "merchant"],
  ["ACCEPTED", "CANCELLED", "dispatch"],
  ["PREPARING", "CANCELLED", "dispatch"],
  ["READY", "CANCELLED", "dispatch"],
  ["READY", "PICKED_UP", "driver"],
  ["PICKED_UP", "DELIVERED", "driver"],
  // Additions (v2): the platform does what dispatch does, and moves the order for its drivers.
  ["PLACED", "CANCELLED", "platform"],
  ["ACCEPTED", "CANCELLED", "platform"],
  ["PREPARING", "CANCELLED", "platform"],
  ["READY", "CANCELLED", "platform"],
  ["READY", "PICKED_UP", "platform"],
  ["PICKED_UP", "DELIVERED", "platform"],
];

/** Moves only a named action makes (Additions v2: recall, READY → PREPARING, by the merchant). */
const NAMED: [from: OrderStatus, to: OrderStatus, by: ChangeMaker, as: "RECALL"][] = [
  ["READY", "PREPARING", "merchant", "RECALL"],
];

const allowed = (from: OrderStatus, to: OrderStatus, by: ChangeMaker) =>
  CONTRACT.some(([f, t, b]) => f === from && t === to && b === by);

describe("the status transition table", () => {
  it("has exactly the contract's rows", () => {
    const rows = STATUS_TRANSITIONS.map((t) => (t.as ? [t.from, t.to, t.by, t.as] : [t.from, t.to, t.by]));
    expect(rows).toHaveLength(CONTRACT.length + NAMED.length);
    expect(new Set(rows.map((r) => r.join(">"))).size).toBe(rows.length);
    for (const row of [...CONTRACT, ...NAMED]) expect(rows).toContainEqual(row);
  });

  it("a named move is made only by its action, never by a plain move to that status", () => {
    for (const [from, to, by, as] of NAMED) {
      expect(canTransition(from, to, by, as)).toBe(true);
      expect(canTransition(from, to, by)).toBe(false);
    }
    expect(canTransition("ACCEPTED", "PREPARING", "merchant", "RECALL")).toBe(false);
  });

  // 9 statuses × 9 statuses × 5 makers = 405 triples, each checked one by one.
  describe.each(STATUSES)("from %s", (from) => {
    const triples = STATUSES.flatMap((to) => MAKERS.map((by) => ({ to, by, ok: allowed(from, to, by) })));
    const permitted = triples.filter((t) => t.ok);
    const refused = triples.filter((t) => !t.ok);

    it(`allows ${permitted.map((t) => `${t.to} by ${t.by}`).join(", ") || "nothing"}`, () => {
      for (const { to, by } of permitted) expect(canTransition(from, to, by), `${from} → ${to} by ${by}`).toBe(true);
    });

    it(`refuses the other ${refused.length} (to, by) pairs`, () => {
      expect(refused.length + permitted.length).toBe(STATUSES.length * MAKERS.length);
      for (const { to, by } of refused) expect(canTransition(from, to, by), `${from} → ${to} by ${by}`).toBe(false);
    });

    it("isTransition is true exactly when some maker may make the move (by any action)", () => {
      for (const to of STATUSES) {
        const named = NAMED.some(([f, t]) => f === from && t === to);
        expect(isTransition(from, to), `${from} → ${to}`).toBe(named || MAKERS.some((by) => allowed(from, to, by)));
      }
    });
  });

  it("never allows staying in the same status", () => {
    for (const s of STATUSES) for (const by of MAKERS) expect(canTransition(s, s, by)).toBe(false);
  });

  it("final statuses are exactly DELIVERED, REJECTED, CANCELLED, EXPIRED", () => {
    expect(STATUSES.filter(isFinal).sort()).toEqual(["CANCELLED", "DELIVERED", "EXPIRED", "REJECTED"]);
  });

  it("lists the non-status changes with the contract's makers and statuses", () => {
    expect(NON_STATUS_CHANGES).toEqual({
      DRIVER_ASSIGNED: { by: ["dispatch", "platform"], in: ["PLACED", "ACCEPTED", "PREPARING", "READY"] },
      DRIVER_ARRIVED: { by: ["driver", "platform"], in: ["ACCEPTED", "PREPARING", "READY"] },
      PREP_TIME_UPDATED: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
      // Additions (v2): kitchen operations; a scheduled order fires by itself.
      ORDER_ADJUSTED: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
      ITEM_DONE: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
      ORDER_FIRED: { by: ["system"], in: ["PLACED", "ACCEPTED"] },
    });
  });
});
