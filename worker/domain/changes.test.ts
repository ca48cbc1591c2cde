import { describe, expect, it } from "vitest";
import { OrderStatusSchema, type Merchant, type Order, type OrderStatus } from "../../schema/index.ts";
import { decide, merchantActionOf, SYSTEM_DEADLINE, type Change, type Principal } from "./changes.ts";
import { createOrder } from "./placement.ts";

const STATUSES = OrderStatusSchema.options;
const PLACED_AT = "2026-01-01T12:00:00.000Z";
const ACCEPT_BY = "2026-01-01T12:10:00.000Z";
const NOW = new Date("2026-01-01T12:05:00.000Z");

function order(status: OrderStatus, patch: Partial<Order> = {}): Order {
  return {
    id: "m1.abc123",
    merchantId: "m1",
    customerId: "cust-1",
    status,
    items: [{ name: "Soup", quantity: 2, unitPriceCents: 500 }],
    totalCents: 1000,
    version: 3,
    placedAt: PLACED_AT,
    acceptBy: ACCEPT_BY,
    updatedAt: PLACED_AT,
    ...(status !== "PLACED"
      ? { acceptedAt: "2026-01-01T12:01:00.000Z", prepMinutes: 10, readyBy: "2026-01-01T12:11:00.000Z" }
      : {}),
    driver: { id: "driver-1", name: "Dana", assignedAt: PLACED_AT },
    ...patch,
  };
}

const who = {
  ownMerchant: { role: "merchant", id: "staff-1", merchantId: "m1" },
  otherMerchant: { role: "merchant", id: "staff-9", merchantId: "m2" },
  ownCustomer: { role: "customer", id: "cust-1" },
  otherCustomer: { role: "customer", id: "cust-2" },
  dispatch: { role: "dispatch", id: "dispatch-1" },
  assignedDriver: { role: "driver", id: "driver-1" },
  otherDriver: { role: "driver", id: "driver-2" },
  system: SYSTEM_DEADLINE,
} satisfies Record<string, Principal>;
type Who = keyof typeof who;

/** The status changes, the status each leads to, and who the contract lets make them from where. */
const STATUS_CHANGES: { change: Change; to: OrderStatus; may: Record<Who, readonly OrderStatus[]> }[] = (
  [
    [{ kind: "ACCEPT", prepMinutes: 12 }, "ACCEPTED", { ownMerchant: ["PLACED"] }],
    [{ kind: "REJECT", reason: "closed" }, "REJECTED", { ownMerchant: ["PLACED"] }],
    [{ kind: "MARK_PREPARING" }, "PREPARING", { ownMerchant: ["ACCEPTED"] }],
    [{ kind: "MARK_READY" }, "READY", { ownMerchant: ["ACCEPTED", "PREPARING"] }],
    [
      { kind: "CANCEL", reason: "no longer needed" },
      "CANCELLED",
      { ownCustomer: ["PLACED"], dispatch: ["PLACED", "ACCEPTED", "PREPARING", "READY"] },
    ],
    [{ kind: "EXPIRE" }, "EXPIRED", { system: ["PLACED"] }],
    [{ kind: "PICK_UP" }, "PICKED_UP", { assignedDriver: ["READY"] }],
    [{ kind: "DELIVER" }, "DELIVERED", { assignedDriver: ["PICKED_UP"] }],
  ] satisfies [Change, OrderStatus, Partial<Record<Who, OrderStatus[]>>][]
).map(([change, to, may]) => ({ change, to, may: { ...emptyMay(), ...may } }));

function emptyMay(): Record<Who, readonly OrderStatus[]> {
  return Object.fromEntries(Object.keys(who).map((k) => [k, []])) as unknown as Record<Who, readonly OrderStatus[]>;
}

/** An actor of the right kind but not this order's: their refusal is 403 whatever the status. */
const FORBIDDEN_FOR: Record<string, Who[]> = {
  ACCEPT: ["otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "assignedDriver", "otherDriver", "system"],
  REJECT: ["otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "assignedDriver", "otherDriver", "system"],
  MARK_PREPARING: [
    "otherMerchant",
    "ownCustomer",
    "otherCustomer",
    "dispatch",
    "assignedDriver",
    "otherDriver",
    "system",
  ],
  MARK_READY: ["otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "assignedDriver", "otherDriver", "system"],
  CANCEL: ["ownMerchant", "otherMerchant", "otherCustomer", "assignedDriver", "otherDriver", "system"],
  EXPIRE: ["ownMerchant", "otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "assignedDriver", "otherDriver"],
  PICK_UP: ["ownMerchant", "otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "otherDriver", "system"],
  DELIVER: ["ownMerchant", "otherMerchant", "ownCustomer", "otherCustomer", "dispatch", "otherDriver", "system"],
};

const AFTER_DEADLINE = new Date("2026-01-01T12:10:00.000Z");

describe("decide: status changes, every status × every actor", () => {
  for (const { change, to, may } of STATUS_CHANGES) {
    describe(change.kind, () => {
      it(`moves to ${to} exactly in the contract's (from, by) pairs and refuses the rest with 409`, () => {
        for (const [w, from] of Object.entries(may) as [Who, readonly OrderStatus[]][]) {
          if (FORBIDDEN_FOR[change.kind]!.includes(w)) continue;
          for (const status of STATUSES) {
            const now = change.kind === "EXPIRE" ? AFTER_DEADLINE : NOW;
            const d = decide(order(status), change, who[w], now, 15);
            if (from.includes(status)) {
              expect(d.ok, `${w} ${change.kind} from ${status}: ${JSON.stringify(d)}`).toBe(true);
              if (d.ok) expect(d.order.status).toBe(to);
            } else {
              expect(d, `${w} ${change.kind} from ${status}`).toMatchObject({
                ok: false,
                error: { code: "INVALID_TRANSITION" },
              });
            }
          }
        }
      });

      it("refuses every other actor with FORBIDDEN, in every status", () => {
        for (const w of FORBIDDEN_FOR[change.kind]!) {
          expect(may[w], `${w} may not ${change.kind} at all`).toEqual([]);
          for (const status of STATUSES) {
            const d = decide(order(status), change, who[w], AFTER_DEADLINE, 15);
            expect(d, `${w} ${change.kind} from ${status}`).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
          }
        }
      });
    });
  }
});

describe("decide: ownership", () => {
  it("another merchant's staff may not touch the order", () => {
    for (const change of [
      { kind: "ACCEPT" },
      { kind: "REJECT", reason: "x" },
      { kind: "UPDATE_PREP_TIME", prepMinutes: 5 },
    ] as Change[]) {
      expect(decide(order("PLACED"), change, who.otherMerchant, NOW, 15)).toMatchObject({
        ok: false,
        error: { code: "FORBIDDEN" },
      });
    }
  });

  it("a driver who is not the assigned one is FORBIDDEN, and so is any driver before one is assigned", () => {
    expect(decide(order("READY"), { kind: "PICK_UP" }, who.otherDriver, NOW, 15)).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN" },
    });
    const unassigned = order("READY", { driver: undefined });
    for (const change of [{ kind: "PICK_UP" }, { kind: "DRIVER_ARRIVED" }] as Change[]) {
      expect(decide(unassigned, change, who.assignedDriver, NOW, 15)).toMatchObject({
        ok: false,
        error: { code: "FORBIDDEN" },
      });
    }
    expect(decide(order("PICKED_UP"), { kind: "DELIVER" }, who.otherDriver, NOW, 15)).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN" },
    });
  });

  it("a customer cancels only their own order, and only while PLACED (409 after)", () => {
    expect(decide(order("PLACED"), { kind: "CANCEL", reason: "x" }, who.otherCustomer, NOW, 15)).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN" },
    });
    const ok = decide(order("PLACED"), { kind: "CANCEL", reason: "x" }, who.ownCustomer, NOW, 15);
    expect(ok).toMatchObject({
      ok: true,
      event: "ORDER_CANCELLED",
      order: { status: "CANCELLED", cancelledBy: { role: "customer", id: "cust-1" } },
    });
    for (const s of ["ACCEPTED", "PREPARING", "READY"] as const) {
      expect(decide(order(s), { kind: "CANCEL", reason: "x" }, who.ownCustomer, NOW, 15)).toMatchObject({
        ok: false,
        error: { code: "INVALID_TRANSITION" },
      });
      // …while dispatch still may.
      expect(decide(order(s), { kind: "CANCEL", reason: "x" }, who.dispatch, NOW, 15).ok).toBe(true);
    }
  });
});

describe("decide: non-status events only in their statuses", () => {
  const inStatuses = (change: Change, p: Principal) => STATUSES.filter((s) => decide(order(s), change, p, NOW, 15).ok);

  it("PREP_TIME_UPDATED: own merchant, ACCEPTED and PREPARING only; readyBy counts from acceptance", () => {
    expect(inStatuses({ kind: "UPDATE_PREP_TIME", prepMinutes: 25 }, who.ownMerchant)).toEqual([
      "ACCEPTED",
      "PREPARING",
    ]);
    const d = decide(order("PREPARING"), { kind: "UPDATE_PREP_TIME", prepMinutes: 25 }, who.ownMerchant, NOW, 15);
    expect(d).toMatchObject({
      ok: true,
      event: "PREP_TIME_UPDATED",
      order: { status: "PREPARING", prepMinutes: 25, readyBy: "2026-01-01T12:26:00.000Z" },
    });
    for (const s of ["PLACED", "READY", "DELIVERED"] as const) {
      expect(decide(order(s), { kind: "UPDATE_PREP_TIME", prepMinutes: 25 }, who.ownMerchant, NOW, 15)).toMatchObject({
        ok: false,
        error: { code: "INVALID_TRANSITION" },
      });
    }
    for (const w of ["dispatch", "ownCustomer", "assignedDriver", "otherMerchant"] as const) {
      expect(inStatuses({ kind: "UPDATE_PREP_TIME", prepMinutes: 25 }, who[w]), w).toEqual([]);
    }
  });

  it("DRIVER_ASSIGNED: dispatch, PLACED..READY only; reassigning replaces the driver", () => {
    const change: Change = { kind: "ASSIGN_DRIVER", driverId: "driver-7", name: "Sam", etaMinutes: 9 };
    expect(inStatuses(change, who.dispatch)).toEqual(["PLACED", "ACCEPTED", "PREPARING", "READY"]);
    for (const w of ["ownMerchant", "ownCustomer", "assignedDriver"] as const)
      expect(inStatuses(change, who[w]), w).toEqual([]);
    const arrived = order("READY", { driver: { id: "driver-1", name: "Dana", arrivedAt: PLACED_AT } });
    const d = decide(arrived, change, who.dispatch, NOW, 15);
    expect(d).toMatchObject({ ok: true, event: "DRIVER_ASSIGNED" });
    if (d.ok)
      expect(d.order.driver).toEqual({ id: "driver-7", name: "Sam", etaMinutes: 9, assignedAt: NOW.toISOString() });
    expect(decide(order("PICKED_UP"), change, who.dispatch, NOW, 15)).toMatchObject({
      ok: false,
      error: { code: "INVALID_TRANSITION" },
    });
  });

  it("DRIVER_ARRIVED: the assigned driver, ACCEPTED..READY only, once", () => {
    expect(inStatuses({ kind: "DRIVER_ARRIVED" }, who.assignedDriver)).toEqual(["ACCEPTED", "PREPARING", "READY"]);
    expect(inStatuses({ kind: "DRIVER_ARRIVED" }, who.otherDriver)).toEqual([]);
    expect(inStatuses({ kind: "DRIVER_ARRIVED" }, who.dispatch)).toEqual([]);
    const d = decide(order("PREPARING"), { kind: "DRIVER_ARRIVED" }, who.assignedDriver, NOW, 15);
    expect(d).toMatchObject({
      ok: true,
      event: "DRIVER_ARRIVED",
      order: { status: "PREPARING", driver: { id: "driver-1", arrivedAt: NOW.toISOString() } },
    });
    if (d.ok) {
      expect(decide(d.order, { kind: "DRIVER_ARRIVED" }, who.assignedDriver, NOW, 15)).toMatchObject({
        ok: false,
        error: { code: "CONFLICT" },
      });
    }
    expect(decide(order("PLACED"), { kind: "DRIVER_ARRIVED" }, who.assignedDriver, NOW, 15)).toMatchObject({
      ok: false,
      error: { code: "INVALID_TRANSITION" },
    });
  });
});

describe("decide: what a change writes", () => {
  it("accept: version + 1, acceptedAt, prepMinutes (given or the merchant default), readyBy", () => {
    const before = order("PLACED", { driver: undefined });
    const snapshot = structuredClone(before);
    const d = decide(before, { kind: "ACCEPT" }, who.ownMerchant, NOW, 20);
    expect(d).toMatchObject({
      ok: true,
      event: "MERCHANT_ACCEPTED",
      order: {
        status: "ACCEPTED",
        version: 4,
        acceptedAt: NOW.toISOString(),
        prepMinutes: 20,
        readyBy: "2026-01-01T12:25:00.000Z",
        updatedAt: NOW.toISOString(),
      },
    });
    expect(before).toEqual(snapshot); // the input is never mutated
    const given = decide(before, { kind: "ACCEPT", prepMinutes: 7 }, who.ownMerchant, NOW, 20);
    expect(given).toMatchObject({ ok: true, order: { prepMinutes: 7, readyBy: "2026-01-01T12:12:00.000Z" } });
  });

  it("each status change stamps its own timestamp and names its event", () => {
    const cases: [OrderStatus, Change, Principal, string, keyof Order][] = [
      ["PLACED", { kind: "REJECT", reason: "closed" }, who.ownMerchant, "MERCHANT_REJECTED", "rejectedAt"],
      ["ACCEPTED", { kind: "MARK_PREPARING" }, who.ownMerchant, "MERCHANT_PREPARING", "preparingAt"],
      ["PREPARING", { kind: "MARK_READY" }, who.ownMerchant, "MERCHANT_READY", "readyAt"],
      ["READY", { kind: "CANCEL", reason: "x" }, who.dispatch, "ORDER_CANCELLED", "cancelledAt"],
      ["READY", { kind: "PICK_UP" }, who.assignedDriver, "ORDER_PICKED_UP", "pickedUpAt"],
      ["PICKED_UP", { kind: "DELIVER" }, who.assignedDriver, "ORDER_DELIVERED", "deliveredAt"],
    ];
    for (const [from, change, p, event, stamp] of cases) {
      const d = decide(order(from), change, p, NOW, 15);
      expect(d, change.kind).toMatchObject({ ok: true, event });
      if (d.ok) {
        expect(d.order[stamp]).toBe(NOW.toISOString());
        expect(d.order.version).toBe(4);
      }
    }
    expect(decide(order("PLACED"), { kind: "REJECT", reason: "closed" }, who.ownMerchant, NOW, 15)).toMatchObject({
      ok: true,
      order: { rejectReason: "closed" },
    });
  });

  it("the deadline expires an order only once acceptBy has come", () => {
    const placed = order("PLACED");
    expect(decide(placed, { kind: "EXPIRE" }, SYSTEM_DEADLINE, new Date(Date.parse(ACCEPT_BY) - 1), 15)).toMatchObject({
      ok: false,
      error: { code: "INVALID_TRANSITION" },
    });
    expect(decide(placed, { kind: "EXPIRE" }, SYSTEM_DEADLINE, new Date(ACCEPT_BY), 15)).toMatchObject({
      ok: true,
      event: "ORDER_EXPIRED",
      order: { status: "EXPIRED", expiredAt: ACCEPT_BY },
    });
  });
});

describe("createOrder and merchantActionOf", () => {
  it("builds version 1, PLACED, the total, acceptBy = placedAt + the merchant's window", () => {
    const merchant: Merchant = { id: "m1", name: "K", acceptWindowSeconds: 90, defaultPrepMinutes: 15 };
    const o = createOrder(
      {
        merchantId: "m1",
        items: [
          { name: "A", quantity: 3, unitPriceCents: 250 },
          { name: "B", quantity: 1, unitPriceCents: 99 },
        ],
      },
      "cust-1",
      merchant,
      "m1.xyz",
      NOW,
    );
    expect(o).toMatchObject({
      id: "m1.xyz",
      merchantId: "m1",
      customerId: "cust-1",
      status: "PLACED",
      version: 1,
      totalCents: 849,
    });
    expect(o.placedAt).toBe(NOW.toISOString());
    expect(Date.parse(o.acceptBy) - Date.parse(o.placedAt)).toBe(90_000);
  });

  it("names the merchant action behind each merchant-made event only", () => {
    expect(merchantActionOf("MERCHANT_ACCEPTED")).toBe("ACCEPT");
    expect(merchantActionOf("MERCHANT_REJECTED")).toBe("REJECT");
    expect(merchantActionOf("MERCHANT_PREPARING")).toBe("MARK_PREPARING");
    expect(merchantActionOf("MERCHANT_READY")).toBe("MARK_READY");
    expect(merchantActionOf("PREP_TIME_UPDATED")).toBe("UPDATE_PREP_TIME");
    for (const e of [
      "ORDER_CREATED",
      "ORDER_CANCELLED",
      "ORDER_EXPIRED",
      "DRIVER_ASSIGNED",
      "DRIVER_ARRIVED",
      "ORDER_PICKED_UP",
      "ORDER_DELIVERED",
    ] as const) {
      expect(merchantActionOf(e)).toBeUndefined();
    }
  });
});
