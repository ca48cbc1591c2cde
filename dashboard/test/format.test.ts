/** Pure display rules: order numbers, clocks, urgency, the customer's timeline. */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { clock, deadlineOf, deadlineText, shortOrderNumber } from "../src/format.ts";
import { timeline, trackingEvent, trackingSnapshot, initialTracking } from "../src/tracking-state.ts";
import { idFromName, readClaims } from "../src/session.ts";
import { randomOrder } from "../src/rush.ts";
import { PlaceOrderBodySchema } from "../../schema/index.ts";

const T0 = Date.parse("2030-01-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const base: Order = {
  id: "demo.lq2x9abcdwxyz",
  merchantId: "demo",
  customerId: "c1",
  status: "PLACED",
  items: [{ name: "Ramen", quantity: 1, unitPriceCents: 1400 }],
  totalCents: 1400,
  version: 1,
  placedAt: iso(T0),
  acceptBy: iso(T0 + 600_000),
  updatedAt: iso(T0),
};

describe("format", () => {
  it("short order numbers and clocks", () => {
    expect(shortOrderNumber(base.id)).toBe("#WXYZ");
    expect(clock(0)).toBe("0:00");
    expect(clock(61_500)).toBe("1:01");
    expect(clock(3_723_000)).toBe("1:02:03");
  });

  it("accept deadline: on time, due soon, late", () => {
    expect(deadlineOf(base, T0)?.urgency).toBe("ok");
    expect(deadlineOf(base, T0 + 600_000 - 150_000)?.urgency).toBe("soon");
    expect(deadlineOf(base, T0 + 600_000 - 30_000)?.urgency).toBe("late");
    expect(deadlineText(deadlineOf(base, T0)!)).toBe("accept in 10:00");
  });

  it("prep deadline: late once readyBy has passed", () => {
    const cooking: Order = {
      ...base,
      status: "PREPARING",
      prepMinutes: 10,
      acceptedAt: iso(T0),
      readyBy: iso(T0 + 600_000),
    };
    expect(deadlineOf(cooking, T0 + 60_000)?.urgency).toBe("ok");
    expect(deadlineOf(cooking, T0 + 500_000)?.urgency).toBe("soon");
    const late = deadlineOf(cooking, T0 + 735_000)!;
    expect(late.urgency).toBe("late");
    expect(deadlineText(late)).toBe("over by 2:15");
  });
});

describe("tracking", () => {
  it("applies order-room events once and builds the timeline", () => {
    let s = trackingSnapshot(initialTracking(), { seq: 1, epoch: "e", order: base }, T0);
    const acc: Order = {
      ...base,
      status: "ACCEPTED",
      version: 2,
      prepMinutes: 12,
      acceptedAt: iso(T0 + 5000),
      readyBy: iso(T0 + 725_000),
    };
    s = trackingEvent(s, { seq: 2, event: "MERCHANT_ACCEPTED", order: acc, merchantAction: "ACCEPT" }, T0).state;
    s = trackingEvent(s, { seq: 2, event: "MERCHANT_ACCEPTED", order: acc }, T0).state;
    expect(s.stats).toMatchObject({ applied: 1, duplicates: 1 });
    const steps = timeline(s.order!);
    expect(steps.map((x) => [x.status, x.state])).toEqual([
      ["PLACED", "done"],
      ["ACCEPTED", "current"],
      ["PREPARING", "todo"],
      ["READY", "todo"],
      ["PICKED_UP", "todo"],
      ["DELIVERED", "todo"],
    ]);
    expect(steps[1]?.detail).toBe("prep time 12 min");
  });

  it("a cancellation ends the timeline with its reason", () => {
    const steps = timeline({
      ...base,
      status: "CANCELLED",
      version: 2,
      cancelReason: "wrong address",
      cancelledAt: iso(T0 + 1000),
    });
    expect(steps.map((x) => x.status)).toEqual(["PLACED", "CANCELLED"]);
    expect(steps[1]).toMatchObject({ state: "stopped", detail: "wrong address" });
  });
});

describe("session and rush", () => {
  it("reads token claims without trusting them", () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const tok = `${b64({ alg: "HS256" })}.${b64({ role: "merchant", sub: "kim", merchantId: "demo", exp: 4_000_000_000 })}.sig`;
    expect(readClaims(tok)).toMatchObject({ role: "merchant", merchantId: "demo" });
    expect(readClaims("nope")).toBeNull();
    expect(idFromName("  Kim Lee! ")).toBe("kim-lee");
  });

  it("rush orders are valid contract bodies", () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 200; i++)
      expect(PlaceOrderBodySchema.safeParse(randomOrder(random, "demo")).success).toBe(true);
  });
});
