import { describe, expect, it } from "vitest";
import { endOfDay } from "./availability.ts";

const at = (iso: string) => Date.parse(iso);
const end = (zone: string | undefined, iso: string) => new Date(endOfDay(zone, at(iso))).toISOString();

describe("endOfDay: when an until-less 86 ends", () => {
  it("is the next local midnight on an ordinary day, in UTC by default", () => {
    expect(end(undefined, "2031-06-10T12:00:00.000Z")).toBe("2031-06-11T00:00:00.000Z");
    expect(end("Asia/Kolkata", "2031-06-10T20:30:00.000Z")).toBe("2031-06-11T18:30:00.000Z");
    expect(end("America/Los_Angeles", "2031-06-11T06:59:59.999Z")).toBe("2031-06-11T07:00:00.000Z");
  });

  it("is local midnight on the day the clocks spring forward (a 23-hour day), before and after the change", () => {
    // New York: 02:00 EST → 03:00 EDT on 2031-03-09; the day ends at 04:00 UTC on the 10th.
    expect(end("America/New_York", "2031-03-09T06:30:00.000Z")).toBe("2031-03-10T04:00:00.000Z");
    expect(end("America/New_York", "2031-03-09T20:00:00.000Z")).toBe("2031-03-10T04:00:00.000Z");
  });

  it("is local midnight on the day the clocks fall back (a 25-hour day), before and after the change", () => {
    // New York: 02:00 EDT → 01:00 EST on 2031-11-02; the day ends at 05:00 UTC on the 3rd.
    expect(end("America/New_York", "2031-11-02T04:30:00.000Z")).toBe("2031-11-03T05:00:00.000Z");
    expect(end("America/New_York", "2031-11-02T05:30:00.000Z")).toBe("2031-11-03T05:00:00.000Z");
    expect(end("America/New_York", "2031-11-03T04:59:00.000Z")).toBe("2031-11-03T05:00:00.000Z");
  });

  it("is the first instant of the next day where midnight does not exist", () => {
    // Santiago: clocks jump from 00:00 to 01:00 on 2031-09-07 (first Sunday of September).
    const result = endOfDay("America/Santiago", at("2031-09-06T12:00:00.000Z"));
    const wall = new Intl.DateTimeFormat("en-GB", {
      timeZone: "America/Santiago",
      dateStyle: "short",
      timeStyle: "medium",
      hourCycle: "h23",
    }).format(new Date(result));
    expect(result).toBeGreaterThan(at("2031-09-06T12:00:00.000Z"));
    expect(wall).toMatch(/^07\/09\/2031, 0[01]:00:00$/);
    // One instant earlier is still the 6th.
    expect(
      new Intl.DateTimeFormat("en-GB", { timeZone: "America/Santiago", day: "2-digit" }).format(new Date(result - 1)),
    ).toBe("06");
  });
});
