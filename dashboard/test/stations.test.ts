/** Stations, pure: which item lines a station makes, which tickets its screen shows, and the all-day counts. */
import { describe, expect, it } from "vitest";
import type { Merchant, OrderLine } from "../../schema/index.ts";
import { allDay } from "../src/kds/allday.ts";
import type { BoardState } from "../src/kds/board.ts";
import {
  findStation,
  isOnStation,
  otherLines,
  patternMatches,
  stationDone,
  stationLines,
  ticketsShown,
} from "../src/kds/stations.ts";
import { iso, order, T0, ticket } from "./kds-fixtures.ts";

const merchant: Merchant = {
  id: "m1",
  name: "Grill House",
  acceptWindowSeconds: 600,
  defaultPrepMinutes: 15,
  stations: [
    { id: "grill", name: "Grill", match: ["*burger*", "steak*"] },
    { id: "fryer", name: "Fryer", match: ["*fries*", "*wings*"] },
    { id: "bar", name: "Bar", match: ["cola", "lemonade"] },
  ],
};
const grill = findStation(merchant, "grill");
const line = (name: string, quantity = 1, doneAt?: string): OrderLine => ({
  name,
  quantity,
  unitPriceCents: 100,
  ...(doneAt ? { doneAt } : {}),
});

describe("station patterns", () => {
  it("match the whole name, case-insensitively, * for any run of characters", () => {
    expect(patternMatches("*burger*", "Smash BURGER deluxe")).toBe(true);
    expect(patternMatches("cola", " Cola ")).toBe(true);
    expect(patternMatches("cola", "Cola Zero")).toBe(false);
    expect(patternMatches("steak*", "Steak frites")).toBe(true);
    expect(patternMatches("steak*", "Rib steak")).toBe(false);
    expect(patternMatches("a.b", "axb")).toBe(false);
  });

  it("an unknown station id shows everything (the expo)", () => {
    expect(findStation(merchant, "pizza")).toBeNull();
    expect(findStation(null, "grill")).toBeNull();
    expect(findStation(merchant, null)).toBeNull();
    expect(grill?.name).toBe("Grill");
  });
});

describe("a station's lines and tickets", () => {
  const o = order("a", {
    status: "ACCEPTED",
    items: [line("Smash burger", 2), line("Fries"), line("Cola"), line("Steak frites", 0), line("Salad")],
  });

  it("shows only its lines; the rest is counted, removed lines are left out", () => {
    expect(stationLines(o, grill)).toEqual([0]);
    expect(stationLines(o, null)).toEqual([0, 1, 2, 3, 4]);
    expect(otherLines(o, grill)).toBe(3);
    expect(isOnStation(o, findStation(merchant, "bar"))).toBe(true);
    expect(isOnStation(order("b", { items: [line("Salad")] }), grill)).toBe(false);
  });

  it("is done when every line of the station is done", () => {
    expect(stationDone(o, grill)).toBe(false);
    const done = { ...o, items: [line("Smash burger", 2, iso(T0)), ...o.items.slice(1)] };
    expect(stationDone(done, grill)).toBe(true);
    expect(stationDone(done, findStation(merchant, "fryer"))).toBe(false);
  });

  it("a station's screen leaves out tickets with nothing for it", () => {
    const board: BoardState = {
      ...boardWith([
        ticket("a", "ACCEPTED", "cooking", { items: [line("Smash burger")] }),
        ticket("b", "ACCEPTED", "cooking", { items: [line("Cola")] }),
      ]),
    };
    expect(ticketsShown(board, "cooking", grill).map((t) => t.order.id)).toEqual(["m1.a"]);
    expect(ticketsShown(board, "cooking", null)).toHaveLength(2);
  });
});

describe("all day", () => {
  it("counts each item still to make across cooking tickets, new ones apart, for the station shown", () => {
    const board = boardWith([
      ticket("a", "ACCEPTED", "cooking", { items: [line("Smash burger", 2), line("Fries", 2)] }),
      ticket("b", "PREPARING", "cooking", { items: [line("smash burger ", 1), line("Fries", 1, iso(T0))] }),
      ticket("c", "PLACED", "new", { items: [line("Smash burger", 3), line("Cola", 2)] }),
      ticket("d", "READY", "ready", { items: [line("Smash burger", 5)] }),
      ticket("e", "ACCEPTED", "cooking", { items: [line("Fries", 0), line("Smash burger", 1)] }),
      {
        ...ticket("s", "ACCEPTED", "cooking", {
          items: [line("Smash burger", 9)],
          requestedFor: iso(T0 + 86_400_000),
          fireAt: iso(T0 + 85_000_000),
        }),
        column: "scheduled",
      },
      ticket("x", "CANCELLED", "cooking", { items: [line("Smash burger", 7)] }),
    ]);
    // The scheduled one waits in the strip (not made yet); the cancelled one is leaving.
    expect(allDay(board, null)).toEqual([
      { name: "Smash burger", cooking: 4, incoming: 3 },
      { name: "Fries", cooking: 2, incoming: 0 },
      { name: "Cola", cooking: 0, incoming: 2 },
    ]);
    expect(allDay(board, grill)).toEqual([{ name: "Smash burger", cooking: 4, incoming: 3 }]);
    // They add up: the grill's count is the sum of the quantities on its cooking tickets, not done.
    const onGrill = ticketsShown(board, "cooking", grill)
      .filter((t) => !t.leaving)
      .flatMap((t) => stationLines(t.order, grill).map((i) => t.order.items[i]!));
    expect(onGrill.filter((i) => !i.doneAt).reduce((n, i) => n + i.quantity, 0)).toBe(allDay(board, grill)[0]?.cooking);
  });
});

function boardWith(tickets: ReturnType<typeof ticket>[]): BoardState {
  return {
    cursor: null,
    merchant,
    stats: { applied: 0, duplicates: 0, gaps: 0, snapshots: 0, replays: 0 },
    lastEventAt: null,
    delivery: null,
    tickets: Object.fromEntries(tickets.map((t) => [t.order.id, t])),
  };
}
