/**
 * Property-based tests of the pure order rules (domain/changes.ts): whatever sequence of changes,
 * from whichever actors, at whatever times, `decide` gives exactly the outcome CONTRACT.md gives —
 * the move, or 403 / 409 — and keeps the order valid: version +1 per change, timestamps kept,
 * nothing leaves a final status, a refusal changes nothing.
 *
 * The expected outcome comes from the contract's tables typed out below, never from the
 * product's own tables or checks: a misreading shared by the product and the test would
 * otherwise pass both.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Merchant,
  type Order,
  OrderSchema,
  type OrderStatus,
  type PlaceOrderBody,
  type StreamEventName,
} from "../../schema/index.ts";
import { type Change, decide, type Principal } from "../domain/changes.ts";
import { createOrder } from "../domain/placement.ts";

// ------------------------------------------------------------------ CONTRACT.md, typed out

/** Who a row of the contract names; "merchant" means the order's own merchant's staff. */
type Who = "merchant" | "own customer" | "assigned driver" | "dispatch" | "platform" | "system";

/** "Status transitions (anything else is 409 INVALID_TRANSITION)": from, to, by. */
const TRANSITIONS: [from: OrderStatus, to: OrderStatus, by: Who][] = [
  ["PLACED", "ACCEPTED", "merchant"],
  ["PLACED", "REJECTED", "merchant"],
  ["PLACED", "EXPIRED", "system"],
  ["PLACED", "CANCELLED", "own customer"],
  ["PLACED", "CANCELLED", "dispatch"],
  ["ACCEPTED", "PREPARING", "merchant"],
  ["ACCEPTED", "READY", "merchant"],
  ["PREPARING", "READY", "merchant"],
  ["ACCEPTED", "CANCELLED", "dispatch"],
  ["PREPARING", "CANCELLED", "dispatch"],
  ["READY", "CANCELLED", "dispatch"],
  ["READY", "PICKED_UP", "assigned driver"],
  ["PICKED_UP", "DELIVERED", "assigned driver"],
  // Additions (v2): "platform … may do what dispatch may" (CONTRACT.md), and (issue 13) marks
  // pickup and delivery for its own drivers.
  ["PLACED", "CANCELLED", "platform"],
  ["ACCEPTED", "CANCELLED", "platform"],
  ["PREPARING", "CANCELLED", "platform"],
  ["READY", "CANCELLED", "platform"],
  ["READY", "PICKED_UP", "platform"],
  ["PICKED_UP", "DELIVERED", "platform"],
];

/** Additions (v2), recall: "READY → PREPARING within 10 min of readyAt", by the merchant, by its own action only. */
const RECALL: [from: OrderStatus, to: OrderStatus, by: Who] = ["READY", "PREPARING", "merchant"];
const RECALL_WINDOW_MS = 10 * 60_000;

/** "Not status changes, but events": who, and in which statuses. */
const EVENTS = {
  ASSIGN_DRIVER: { by: ["dispatch", "platform"], in: ["PLACED", "ACCEPTED", "PREPARING", "READY"] },
  DRIVER_ARRIVED: { by: ["assigned driver", "platform"], in: ["ACCEPTED", "PREPARING", "READY"] },
  UPDATE_PREP_TIME: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
  // Additions (v2), kitchen operations: adjust (ACCEPTED or PREPARING), item done (while cooking).
  ADJUST_ITEMS: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
  ITEM_DONE: { by: ["merchant"], in: ["ACCEPTED", "PREPARING"] },
} satisfies Record<string, { by: Who[]; in: OrderStatus[] }>;

/** The status each status change asks for. */
const TARGET = {
  ACCEPT: "ACCEPTED",
  REJECT: "REJECTED",
  MARK_PREPARING: "PREPARING",
  MARK_READY: "READY",
  CANCEL: "CANCELLED",
  EXPIRE: "EXPIRED",
  PICK_UP: "PICKED_UP",
  DELIVER: "DELIVERED",
  RECALL: "PREPARING",
} satisfies Record<Exclude<Change["kind"], keyof typeof EVENTS | "FIRE">, OrderStatus>;

/** The stream event of each change ("Stream events"). */
const EVENT_OF: Record<Change["kind"], StreamEventName> = {
  ACCEPT: "MERCHANT_ACCEPTED",
  REJECT: "MERCHANT_REJECTED",
  MARK_PREPARING: "MERCHANT_PREPARING",
  MARK_READY: "MERCHANT_READY",
  UPDATE_PREP_TIME: "PREP_TIME_UPDATED",
  CANCEL: "ORDER_CANCELLED",
  EXPIRE: "ORDER_EXPIRED",
  ASSIGN_DRIVER: "DRIVER_ASSIGNED",
  DRIVER_ARRIVED: "DRIVER_ARRIVED",
  PICK_UP: "ORDER_PICKED_UP",
  DELIVER: "ORDER_DELIVERED",
  ADJUST_ITEMS: "ORDER_ADJUSTED",
  ITEM_DONE: "ITEM_DONE",
  RECALL: "MERCHANT_RECALLED",
  FIRE: "ORDER_FIRED",
};

/** "timestamps of every status it has had (acceptedAt, preparingAt, readyAt, ...)". */
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

/** The statuses no row leaves. */
const FINAL: OrderStatus[] = ["REJECTED", "CANCELLED", "EXPIRED", "DELIVERED"];

/** The fields of an order no change touches. */
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

function is(who: Who, order: Order, p: Principal): boolean {
  switch (who) {
    case "merchant":
      return p.role === "merchant" && p.merchantId === order.merchantId;
    case "own customer":
      return p.role === "customer" && p.id === order.customerId;
    case "assigned driver":
      return p.role === "driver" && order.driver?.id === p.id;
    case "dispatch":
    case "platform":
    case "system":
      return p.role === who;
  }
}

type Expected =
  | { ok: true; status: OrderStatus }
  | { ok: false; code: "FORBIDDEN" | "INVALID_TRANSITION" | "CONFLICT" | "BAD_REQUEST" };

/**
 * The contract's answer: 403 to anyone the tables never name for this change ("a valid token
 * for the wrong role or the wrong merchant/order"), 409 to the others in a status their row does
 * not start from; EXPIRE only "at acceptBy". The one rule not on the page: a driver arrives once
 * (again is 409 CONFLICT).
 */
function expected(order: Order, change: Change, who: Principal, now: Date): Expected {
  const refuse = (code: Exclude<Expected, { ok: true }>["code"]): Expected => ({ ok: false, code });
  if (change.kind in EVENTS) {
    const rule = EVENTS[change.kind as keyof typeof EVENTS];
    if (!rule.by.some((by) => is(by as Who, order, who))) return refuse("FORBIDDEN");
    if (!(rule.in as OrderStatus[]).includes(order.status)) return refuse("INVALID_TRANSITION");
    if (change.kind === "DRIVER_ARRIVED" && (!order.driver || order.driver.arrivedAt)) return refuse("CONFLICT");
    if (change.kind === "ADJUST_ITEMS") {
      // "quantities only lowered (0 removes)"; an order keeps at least one item.
      const left = order.items.map((i) => i.quantity);
      for (const c of change.changes) {
        if (!(left[c.index]! > 0) || c.quantity >= left[c.index]!) return refuse("BAD_REQUEST");
        left[c.index] = c.quantity;
      }
      if (left.every((q) => q === 0)) return refuse("BAD_REQUEST");
    }
    if (change.kind === "ITEM_DONE") {
      const item = order.items[change.index];
      if (!item || item.quantity === 0) return refuse("BAD_REQUEST");
      if (change.done === (item.doneAt !== undefined)) return refuse("CONFLICT");
    }
    return { ok: true, status: order.status };
  }
  // Additions (v2), scheduled orders: "at fireAt the stream has ORDER_FIRED" — by the room itself,
  // for an order still PLACED or ACCEPTED; an order placed for now has no fireAt to reach.
  if (change.kind === "FIRE") {
    if (who.role !== "system") return refuse("FORBIDDEN");
    return order.status === "PLACED" || order.status === "ACCEPTED" ? refuse("CONFLICT") : refuse("INVALID_TRANSITION");
  }
  if (change.kind === "RECALL") {
    const [from, to, by] = RECALL;
    if (!is(by, order, who)) return refuse("FORBIDDEN");
    if (order.status !== from) return refuse("INVALID_TRANSITION");
    if (now.getTime() - Date.parse(order.readyAt!) > RECALL_WINDOW_MS) return refuse("INVALID_TRANSITION");
    return { ok: true, status: to };
  }
  const to = TARGET[change.kind as keyof typeof TARGET];
  const rows = TRANSITIONS.filter(([, t, by]) => t === to && is(by, order, who));
  if (rows.length === 0) return refuse("FORBIDDEN");
  if (!rows.some(([from]) => from === order.status)) return refuse("INVALID_TRANSITION");
  if (to === "EXPIRED" && now.getTime() < Date.parse(order.acceptBy)) return refuse("INVALID_TRANSITION");
  return { ok: true, status: to };
}

const plusMinutes = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

/** Which of the contract's "who" a principal is for this order, if any. */
function whoIs(order: Order, p: Principal): Who | `stranger ${string}` {
  const all: Who[] = ["merchant", "own customer", "assigned driver", "dispatch", "platform", "system"];
  return all.find((who) => is(who, order, p)) ?? `stranger ${p.role}`;
}

/** What the accepted change must have written into the order, per the contract's Order. */
function expectChangeApplied(before: Order, next: Order, change: Change, who: Principal, at: string): void {
  if (change.kind === "ACCEPT") expect(next.prepMinutes).toBe(change.prepMinutes ?? MERCHANT.defaultPrepMinutes);
  else if (change.kind === "UPDATE_PREP_TIME") expect(next.prepMinutes).toBe(change.prepMinutes);
  else expect(next.prepMinutes).toBe(before.prepMinutes);
  if (change.kind === "REJECT") expect(next.rejectReason).toBe(change.reason);
  if (change.kind === "CANCEL") {
    expect(next.cancelReason).toBe(change.reason);
    expect(next.cancelledBy).toEqual({ role: who.role, id: who.id });
  }
  if (change.kind === "ASSIGN_DRIVER") {
    expect(next.driver).toMatchObject({ id: change.driverId, name: change.name });
    expect(next.driver?.etaMinutes).toBe(change.etaMinutes);
    expect(next.driver?.arrivedAt).toBeUndefined();
  } else if (change.kind === "DRIVER_ARRIVED") {
    expect(next.driver).toEqual({ ...before.driver, arrivedAt: at });
  } else {
    expect(next.driver).toEqual(before.driver);
  }
  // "prepMinutes?, readyBy? — set on accept, changeable while cooking"; readyBy counts from acceptance.
  if (next.prepMinutes !== undefined) expect(next.readyBy).toBe(plusMinutes(next.acceptedAt!, next.prepMinutes));
}

// ------------------------------------------------------------------ generators

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
  fc.record({
    kind: fc.constant("ADJUST_ITEMS" as const),
    changes: fc.uniqueArray(
      fc.record({ index: fc.integer({ min: 0, max: 3 }), quantity: fc.integer({ min: 0, max: 5 }) }),
      {
        minLength: 1,
        maxLength: 3,
        selector: (c) => c.index,
      },
    ),
    reason: text,
  }),
  fc.record({ kind: fc.constant("ITEM_DONE" as const), index: fc.integer({ min: 0, max: 3 }), done: fc.boolean() }),
  fc.constant({ kind: "RECALL" as const }),
  fc.constant({ kind: "FIRE" as const }),
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
 * anyone at all, or someone the contract names for the change (resolved against the order when
 * the step runs), so walks reach deep states (assigned driver picking up) instead of dying at
 * PLACED.
 */
const stepArb = fc.record({
  change: changeArb,
  who: fc.oneof(
    { weight: 2, arbitrary: fc.constant("named" as const) },
    { weight: 1, arbitrary: fc.constantFrom(...PRINCIPALS) },
  ),
  pick: fc.nat(),
  // Mostly seconds apart, sometimes far past the 10-minute accept window.
  elapsedMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 2 * 3600_000 })),
});

/** The principal a step names, resolved against the order as it is when the step runs. */
function resolve(step: { who: Principal | "named"; pick: number; change: Change }, order: Order, now: Date) {
  if (step.who !== "named") return step.who;
  const candidates = PRINCIPALS.filter((p) => {
    const e = expected(order, step.change, p, now);
    return e.ok || e.code !== "FORBIDDEN";
  });
  return candidates.length > 0
    ? candidates[step.pick % candidates.length]!
    : PRINCIPALS[step.pick % PRINCIPALS.length]!;
}

// ------------------------------------------------------------------ properties

describe("decide(): the contract's outcome for any sequence of changes", () => {
  it("gives the contract's move or refusal every time, keeps the order valid, version +1 per change", () => {
    const statusesReached = new Set<OrderStatus>();
    let accepted = 0;
    fc.assert(
      fc.property(
        placeArb,
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (body, steps, t0) => {
          let now = new Date(Date.UTC(2026, 0, 1) + t0);
          let order: Order = createOrder(body, "cust-own", MERCHANT, "m1.abc123", now);
          expect(OrderSchema.parse(order)).toEqual(order);
          expect(order).toMatchObject({ status: "PLACED", version: 1, customerId: "cust-own", merchantId: "m1" });
          expect(order.totalCents).toBe(body.items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0));
          // "acceptBy = placedAt + merchant.acceptWindowSeconds"
          expect(Date.parse(order.acceptBy) - Date.parse(order.placedAt)).toBe(MERCHANT.acceptWindowSeconds * 1000);
          const statusesHad = new Set<OrderStatus>([order.status]);
          for (const step of steps) {
            const { change, elapsedMs } = step;
            now = new Date(now.getTime() + elapsedMs);
            const who = resolve(step, order, now);
            const want = expected(order, change, who, now);
            const before = structuredClone(order);
            const decision = decide(order, change, who, now, MERCHANT.defaultPrepMinutes);
            const what = `${change.kind} by ${who.role} ${who.id} while ${order.status}`;
            // Pure: the input order is never mutated, accepted or not.
            expect(order).toEqual(before);
            if (!want.ok) {
              expect(decision.ok ? "accepted" : decision.error.code, what).toBe(want.code);
              continue;
            }
            expect(decision.ok ? "accepted" : decision.error.code, what).toBe("accepted");
            if (!decision.ok) continue;
            const next = decision.order;
            const at = now.toISOString();
            expect(FINAL, `${what}: a move from a final status`).not.toContain(order.status);
            expect(next.status, what).toBe(want.status);
            expect(decision.event, what).toBe(EVENT_OF[change.kind]);
            expect(OrderSchema.parse(next)).toEqual(next);
            expect(next.version).toBe(order.version + 1);
            expect(next.updatedAt).toBe(at);
            const itemsMayChange = change.kind === "ADJUST_ITEMS" || change.kind === "ITEM_DONE";
            for (const key of IMMUTABLE) {
              if (!(itemsMayChange && (key === "items" || key === "totalCents"))) expect(next[key]).toEqual(order[key]);
            }
            if (next.status !== order.status && change.kind !== "RECALL") {
              expect(next[STATUS_TIMESTAMP[next.status]!]).toBe(at);
            }
            expectChangeApplied(order, next, change, who, at);
            // Timestamps of earlier statuses are kept for good (ready again after a recall is a new readyAt).
            for (const s of statusesHad) {
              if (
                STATUS_TIMESTAMP[s] &&
                !(s === next.status && change.kind !== "RECALL" && next.status !== order.status)
              ) {
                expect(next[STATUS_TIMESTAMP[s]!]).toBe(order[STATUS_TIMESTAMP[s]!]);
              }
            }
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
      .tuple(placeArb, fc.constantFrom(...FINAL), fc.integer({ min: 0, max: 2 ** 40 }))
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

  it("exhaustively: every row of the tables is reachable by whom it names, and nothing else is", () => {
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
      { kind: "ADJUST_ITEMS", changes: [{ index: 0, quantity: 1 }], reason: "out" },
      { kind: "ITEM_DONE", index: 0, done: true },
    ];
    const t0 = Date.UTC(2026, 0, 1);
    const start = createOrder(
      {
        merchantId: "m1",
        items: [
          { name: "x", quantity: 2, unitPriceCents: 1 },
          { name: "y", quantity: 1, unitPriceCents: 1 },
        ],
      },
      "cust-own",
      MERCHANT,
      "m1.x",
      new Date(t0),
    );
    const key = (o: Order) => `${o.status}|${o.driver?.id ?? ""}|${o.driver?.arrivedAt ? 1 : 0}|${o.prepMinutes ?? ""}`;
    const seen = new Map<string, Order>([[key(start), start]]);
    const moves = new Set<string>();
    const events = new Set<string>();
    const leaves = new Set<OrderStatus>();
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
              const by = whoIs(order, who);
              if (d.order.status !== order.status) {
                moves.add(`${order.status}>${d.order.status}>${by}`);
                leaves.add(order.status);
              } else events.add(`${change.kind}@${order.status}>${by}`);
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
    expect([...moves].sort()).toEqual([...TRANSITIONS, RECALL].map(([from, to, by]) => `${from}>${to}>${by}`).sort());
    const eventRows = Object.entries(EVENTS).flatMap(([kind, rule]) =>
      rule.in.flatMap((status) => rule.by.map((by) => `${kind}@${status}>${by}`)),
    );
    expect([...events].sort()).toEqual(eventRows.sort());
    // Every status the walk reached is either left by some move or final.
    const reached = new Set([...seen.values()].map((o) => o.status));
    expect([...reached].filter((s) => !leaves.has(s)).sort()).toEqual([...FINAL].sort());
  });
});
