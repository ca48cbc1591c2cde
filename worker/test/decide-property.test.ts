/**
 * Property-based tests of the pure order rules (domain/changes.ts over schema/transitions.ts):
 * whatever sequence of changes, from whichever actors, at whatever times, the order stays valid
 * per OrderSchema, every accepted change moves version by exactly one along a row of the
 * contract's table (by the role that row names, for the right owner), nothing leaves a final
 * status, and a refusal changes nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FINAL_STATUSES,
  isFinal,
  OrderSchema,
  STATUS_TRANSITIONS,
  type Merchant,
  type Order,
  type OrderStatus,
  type PlaceOrderBody,
} from "../../schema/index.ts";
import { decide, type Change, type Principal } from "../domain/changes.ts";
import { createOrder } from "../domain/placement.ts";

const MERCHANT: Merchant = { id: "m1", name: "Kitchen", acceptWindowSeconds: 600, defaultPrepMinutes: 15 };
const DRIVERS = ["drv-a", "drv-b"];

/** Everyone who might ask: the owners, strangers of every role, and the deadline. */
const PRINCIPALS: Principal[] = [
  { role: "customer", id: "cust-own" },
  { role: "customer", id: "cust-other" },
  { role: "merchant", id: "staff-1", merchantId: "m1" },
  { role: "merchant", id: "staff-9", merchantId: "m9" },
  { role: "driver", id: "drv-a" },
  { role: "driver", id: "drv-b" },
  { role: "dispatch", id: "ops" },
  { role: "platform", id: "plat" },
  { role: "system", id: "acceptance-deadline" },
];

const text = fc
  .string({ minLength: 1, maxLength: 40, unit: "grapheme" })
  .filter((s) => s.trim().length > 0 && s.trim() === s);

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc
    .record({
      kind: fc.constant("ACCEPT" as const),
      prepMinutes: fc.option(fc.integer({ min: 1, max: 180 }), { nil: undefined }),
    })
    .map((c) => (c.prepMinutes === undefined ? { kind: c.kind } : c)),
  fc.record({ kind: fc.constant("REJECT" as const), reason: text }),
  fc.constant({ kind: "MARK_PREPARING" as const }),
  fc.constant({ kind: "MARK_READY" as const }),
  fc.record({ kind: fc.constant("UPDATE_PREP_TIME" as const), prepMinutes: fc.integer({ min: 1, max: 180 }) }),
  fc.record({ kind: fc.constant("CANCEL" as const), reason: text }),
  fc.constant({ kind: "EXPIRE" as const }),
  fc
    .record({
      kind: fc.constant("ASSIGN_DRIVER" as const),
      driverId: fc.constantFrom(...DRIVERS),
      name: text,
      etaMinutes: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    })
    .map((c) => (c.etaMinutes === undefined ? { kind: c.kind, driverId: c.driverId, name: c.name } : c)),
  fc.constant({ kind: "DRIVER_ARRIVED" as const }),
  fc.constant({ kind: "PICK_UP" as const }),
  fc.constant({ kind: "DELIVER" as const }),
);

const placeArb: fc.Arbitrary<PlaceOrderBody> = fc.record(
  {
    merchantId: fc.constant("m1"),
    items: fc.array(
      fc.record(
        {
          name: text,
          quantity: fc.integer({ min: 1, max: 99 }),
          unitPriceCents: fc.integer({ min: 0, max: 10_000_000 }),
          notes: text,
        },
        { requiredKeys: ["name", "quantity", "unitPriceCents"] },
      ),
      { minLength: 1, maxLength: 100 },
    ),
    notes: text,
  },
  { requiredKeys: ["merchantId", "items"] },
);

/**
 * A step: who asks for what, and how much time passed since the previous step. `who` is either
 * anyone at all, or "the right one" for the change (resolved against the order when the step
 * runs), so walks reach deep states (assigned driver picking up) instead of dying at PLACED.
 */
const stepArb = fc.record({
  change: changeArb,
  who: fc.oneof(
    { weight: 2, arbitrary: fc.constant("entitled" as const) },
    { weight: 1, arbitrary: fc.constantFrom(...PRINCIPALS) },
  ),
  pick: fc.nat(),
  // Mostly seconds apart, sometimes far past the 10-minute accept window.
  elapsedMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 2 * 3600_000 })),
});

/** The principal a step names, resolved against the order as it is when the step runs. */
function resolve(step: { who: Principal | "entitled"; pick: number; change: Change }, order: Order): Principal {
  if (step.who !== "entitled") return step.who;
  const candidates = PRINCIPALS.filter((p) => entitled(order, step.change, p));
  return candidates.length > 0
    ? candidates[step.pick % candidates.length]!
    : PRINCIPALS[step.pick % PRINCIPALS.length]!;
}

const STATUS_TIMESTAMP: Partial<Record<OrderStatus, keyof Order>> = {
  ACCEPTED: "acceptedAt",
  REJECTED: "rejectedAt",
  PREPARING: "preparingAt",
  READY: "readyAt",
  PICKED_UP: "pickedUpAt",
  DELIVERED: "deliveredAt",
  CANCELLED: "cancelledAt",
  EXPIRED: "expiredAt",
};

/** Who may make this change to this order at all, per the contract (independent of status). */
function entitled(order: Order, change: Change, who: Principal): boolean {
  switch (change.kind) {
    case "ACCEPT":
    case "REJECT":
    case "MARK_PREPARING":
    case "MARK_READY":
    case "UPDATE_PREP_TIME":
    case "ADJUST_ITEMS":
    case "ITEM_DONE":
    case "RECALL":
      return who.role === "merchant" && who.merchantId === order.merchantId;
    case "CANCEL":
      return (
        who.role === "dispatch" || who.role === "platform" || (who.role === "customer" && who.id === order.customerId)
      );
    case "EXPIRE":
    case "FIRE":
      return who.role === "system";
    case "ASSIGN_DRIVER":
      return who.role === "dispatch" || who.role === "platform";
    case "DRIVER_ARRIVED":
    case "PICK_UP":
    case "DELIVER":
      return (who.role === "driver" && order.driver?.id === who.id) || who.role === "platform";
  }
}

const IMMUTABLE: (keyof Order)[] = [
  "id",
  "merchantId",
  "customerId",
  "items",
  "totalCents",
  "notes",
  "placedAt",
  "acceptBy",
];

describe("decide(): properties over any sequence of changes", () => {
  it("keeps the order valid, version +1 per accepted change, only table transitions, nothing from a final status", () => {
    const statusesReached = new Set<OrderStatus>();
    let accepted = 0;
    fc.assert(
      fc.property(
        placeArb,
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (body, steps, t0) => {
          let now = new Date(Date.UTC(2026, 0, 1) + t0);
          let order = createOrder(body, "cust-own", MERCHANT, "m1.abc123", now);
          expect(OrderSchema.parse(order)).toEqual(order);
          expect(order.totalCents).toBe(body.items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0));
          const statusesHad = new Set<OrderStatus>([order.status]);
          for (const step of steps) {
            const { change, elapsedMs } = step;
            const who = resolve(step, order);
            now = new Date(now.getTime() + elapsedMs);
            const before = structuredClone(order);
            const decision = decide(order, change, who, now, MERCHANT.defaultPrepMinutes);
            // Pure: the input order is never mutated, accepted or not.
            expect(order).toEqual(before);
            if (!decision.ok) {
              expect(["FORBIDDEN", "INVALID_TRANSITION", "CONFLICT"]).toContain(decision.error.code);
              // 403 is about who asks, whatever the status; 409 only for someone entitled.
              expect(decision.error.code === "FORBIDDEN").toBe(!entitled(order, change, who));
              continue;
            }
            const next = decision.order;
            expect(entitled(order, change, who)).toBe(true);
            expect(isFinal(order.status), `${change.kind} from final ${order.status}`).toBe(false);
            expect(OrderSchema.parse(next)).toEqual(next);
            expect(next.version).toBe(order.version + 1);
            expect(next.updatedAt).toBe(now.toISOString());
            for (const key of IMMUTABLE) expect(next[key]).toEqual(order[key]);
            if (next.status !== order.status) {
              const row = STATUS_TRANSITIONS.find(
                (t) => t.from === order.status && t.to === next.status && t.by === who.role,
              );
              expect(row, `${order.status} → ${next.status} by ${who.role}`).toBeDefined();
              expect(next[STATUS_TIMESTAMP[next.status]!]).toBe(now.toISOString());
            } else {
              expect(["UPDATE_PREP_TIME", "ASSIGN_DRIVER", "DRIVER_ARRIVED"]).toContain(change.kind);
            }
            if (change.kind === "EXPIRE") expect(now.getTime()).toBeGreaterThanOrEqual(Date.parse(order.acceptBy));
            // Timestamps of earlier statuses are kept for good.
            for (const s of statusesHad)
              if (STATUS_TIMESTAMP[s]) expect(next[STATUS_TIMESTAMP[s]!]).toBe(order[STATUS_TIMESTAMP[s]!]);
            statusesHad.add(next.status);
            statusesReached.add(next.status);
            accepted++;
            order = next;
          }
        },
      ),
      { numRuns: 400 },
    );
    // The walks went deep, not just bounced off PLACED.
    expect(accepted).toBeGreaterThan(300);
    // (PICKED_UP and DELIVERED need five lucky steps in a row; the exhaustive test below reaches them.)
    for (const s of ["ACCEPTED", "PREPARING", "READY", "REJECTED", "CANCELLED", "EXPIRED"] as const)
      expect([...statusesReached]).toContain(s);
  });

  it("an order in a final status refuses every change from everyone, at any time", () => {
    const finalOrders = fc
      .tuple(placeArb, fc.constantFrom(...FINAL_STATUSES), fc.integer({ min: 0, max: 2 ** 40 }))
      .map(([body, status, t0]) => {
        const at = new Date(Date.UTC(2026, 0, 1) + t0);
        const order = createOrder(body, "cust-own", MERCHANT, "m1.fin", at);
        return { ...order, status, version: 5, driver: { id: "drv-a", name: "Ada" } } satisfies Order;
      });
    fc.assert(
      fc.property(
        finalOrders,
        changeArb,
        fc.constantFrom(...PRINCIPALS),
        fc.integer({ min: 0, max: 10 * 24 * 3600_000 }),
        (order, change, who, later) => {
          const decision = decide(order, change, who, new Date(Date.parse(order.placedAt) + later), 15);
          expect(decision.ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("exhaustively: every row of the table is reachable by its actor, and nothing else is", () => {
    // Breadth-first over every (change, principal, time) from a fresh order: the state space is
    // small enough to walk whole, which random walks reach only rarely (e.g. PICKED_UP → DELIVERED).
    const changes: Change[] = [
      { kind: "ACCEPT" },
      { kind: "REJECT", reason: "r" },
      { kind: "MARK_PREPARING" },
      { kind: "MARK_READY" },
      { kind: "UPDATE_PREP_TIME", prepMinutes: 20 },
      { kind: "CANCEL", reason: "c" },
      { kind: "EXPIRE" },
      ...DRIVERS.map((driverId) => ({ kind: "ASSIGN_DRIVER" as const, driverId, name: "D" })),
      { kind: "DRIVER_ARRIVED" },
      { kind: "PICK_UP" },
      { kind: "DELIVER" },
      { kind: "RECALL" },
    ];
    const t0 = Date.UTC(2026, 0, 1);
    const start = createOrder(
      { merchantId: "m1", items: [{ name: "x", quantity: 1, unitPriceCents: 1 }] },
      "cust-own",
      MERCHANT,
      "m1.x",
      new Date(t0),
    );
    const key = (o: Order) => `${o.status}|${o.driver?.id ?? ""}|${o.driver?.arrivedAt ? 1 : 0}|${o.prepMinutes ?? ""}`;
    const seen = new Map<string, Order>([[key(start), start]]);
    const reached = new Set<string>();
    let frontier = [start];
    while (frontier.length > 0) {
      const next: Order[] = [];
      for (const order of frontier) {
        for (const change of changes) {
          for (const who of PRINCIPALS) {
            for (const at of [t0 + 1_000, t0 + 11 * 60_000]) {
              const d = decide(order, change, who, new Date(Math.max(at, Date.parse(order.updatedAt))), 15);
              if (!d.ok) continue;
              expect(OrderSchema.safeParse(d.order).success).toBe(true);
              if (d.order.status !== order.status) reached.add(`${order.status}>${d.order.status}>${who.role}`);
              if (!seen.has(key(d.order))) {
                seen.set(key(d.order), d.order);
                next.push(d.order);
              }
            }
          }
        }
      }
      frontier = next;
    }
    const table = new Set(STATUS_TRANSITIONS.map((t) => `${t.from}>${t.to}>${t.by}`));
    expect([...reached].filter((r) => !table.has(r))).toEqual([]);
    expect([...table].filter((r) => !reached.has(r))).toEqual([]);
    for (const o of seen.values()) if (isFinal(o.status)) expect(FINAL_STATUSES).toContain(o.status);
  });
});
