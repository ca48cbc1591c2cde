/** What a printed kitchen ticket and bag label say, pure. */
import { describe, expect, it } from "vitest";
import { dayAndTime, timeOfDay } from "../src/format.ts";
import { printJob } from "../src/kds/print-model.ts";
import { iso, order, T0 } from "./kds-fixtures.ts";

describe("print model", () => {
  const merchant = { id: "m1", name: "Trattoria", acceptWindowSeconds: 600, defaultPrepMinutes: 15 };
  const o = order("abc123", {
    status: "ACCEPTED",
    items: [
      { name: "Pad thai", quantity: 2, unitPriceCents: 1250, notes: "peanut allergy — no peanuts" },
      { name: "Spring rolls", quantity: 0, unitPriceCents: 500 },
      { name: "Cola", quantity: 1, unitPriceCents: 300 },
    ],
    notes: "Gluten-free if you can",
    customerName: "Ana",
    fulfilment: "delivery",
    paid: false,
    prepMinutes: 20,
    readyBy: iso(T0 + 1_200_000),
    requestedFor: iso(T0 + 86_400_000),
    driver: { id: "d1", name: "Sam" },
  });

  it("has the big short number, the items still on the order, the allergens, the driver and the scheduled time", () => {
    const job = printJob(o, merchant, T0);
    expect(job.number).toBe("#C123");
    expect(job.kitchen).toBe("Trattoria");
    expect(job.lines.map((l) => `${l.quantity}× ${l.name}`)).toEqual(["2× Pad thai", "1× Cola"]);
    expect(job.removed).toBe(1);
    expect(job.lines[0]?.allergens).toEqual(["peanut"]);
    expect(job.allergens).toEqual(["peanut", "gluten"]);
    expect(job.note?.some((p) => p.allergen === "gluten")).toBe(true);
    expect(job.driver).toBe("Driver: Sam");
    expect(job.scheduled).toBe(`Scheduled for ${dayAndTime(iso(T0 + 86_400_000), T0)}`);
    expect(job.ready).toBe(`Ready by ${timeOfDay(iso(T0 + 1_200_000))} · prep 20 min`);
    expect(job).toMatchObject({ customer: "Ana", fulfilment: "Delivery", paid: false });
  });

  it("a plain order prints without the optional parts", () => {
    const job = printJob(order("plain1"), null, T0);
    expect(job).toMatchObject({
      kitchen: "m1",
      customer: null,
      fulfilment: null,
      scheduled: null,
      ready: null,
      note: null,
      driver: null,
      paid: null,
      allergens: [],
      removed: 0,
    });
  });

  it("says today and tomorrow in words", () => {
    const now = new Date(2030, 0, 1, 10, 0).getTime();
    expect(dayAndTime(new Date(2030, 0, 1, 19, 30).toISOString(), now)).toBe("today 19:30");
    expect(dayAndTime(new Date(2030, 0, 2, 9, 5).toISOString(), now)).toBe("tomorrow 09:05");
    expect(dayAndTime(new Date(2030, 0, 4, 12, 0).toISOString(), now)).toBe("Fri 4 Jan 12:00");
  });
});
