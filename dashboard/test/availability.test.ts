/** The kitchen's availability in words, pure: an icon and a word per state, until when, and why — the room's own pauses included. */
import { describe, expect, it } from "vitest";
import { availabilityNotice, describeAvailability, isAutoPause } from "../src/kds/availability.ts";
import { timeOfDay } from "../src/format.ts";
import { iso, T0 } from "./kds-fixtures.ts";

describe("availability in words", () => {
  it("open, busy with its extra minutes, paused until a time or until reopened", () => {
    expect(describeAvailability({ mode: "OPEN" })).toMatchObject({ icon: "●", short: "● OPEN", why: null });
    const till = timeOfDay(iso(T0));
    expect(describeAvailability({ mode: "BUSY", extraPrepMinutes: 10, until: iso(T0) })).toMatchObject({
      short: `▲ BUSY +10 · till ${till}`,
      long: `Busy — new orders get +10 min prep time until ${till}.`,
    });
    expect(describeAvailability({ mode: "PAUSED" }).long).toBe(
      "Paused — new orders are refused until someone reopens.",
    );
    expect(describeAvailability({ mode: "PAUSED", until: iso(T0), reason: "Oven repair" })).toMatchObject({
      short: `■ PAUSED · till ${till}`,
      why: "Reason: Oven repair",
      auto: false,
    });
  });

  it("says why the room paused itself, so a screen coming back learns it", () => {
    const auto = { mode: "PAUSED" as const, reason: "auto: 3 orders in a row expired unanswered" };
    expect(isAutoPause(auto)).toBe(true);
    expect(describeAvailability(auto).why).toBe("Paused automatically: 3 orders in a row expired unanswered");
    expect(describeAvailability({ mode: "PAUSED", reason: "auto" }).why).toBe("Paused automatically");
    expect(isAutoPause({ mode: "PAUSED", reason: "automatic door broken" })).toBe(false);
  });

  it("announces a change no cook made; a cook's own change only shows in the banner", () => {
    const auto = { mode: "PAUSED" as const, reason: "auto: no kitchen screen connected for 15 min" };
    expect(availabilityNotice(auto, { role: "system", id: "availability" })).toMatchObject({
      tone: "error",
      lines: [{ ok: false, text: "Paused automatically: no kitchen screen connected for 15 min" }],
    });
    expect(availabilityNotice({ mode: "OPEN" }, { role: "dispatch", id: "ops" })?.title).toBe(
      "● Open — taking orders. (by dispatch)",
    );
    expect(availabilityNotice({ mode: "PAUSED" }, { role: "merchant", id: "kim" })).toBeNull();
  });
});
