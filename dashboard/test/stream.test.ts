/** The resume rule both screens share: gaps resume from the last seq, until resuming keeps failing. */
import { describe, expect, it } from "vitest";
import { GapCounter } from "../src/stream.ts";

describe("gap counter", () => {
  it("resumes for up to three gaps in ten seconds, then takes a fresh snapshot and starts counting again", () => {
    const gaps = new GapCounter();
    expect([0, 1_000, 2_000].map((t) => gaps.record(t))).toEqual(["resume", "resume", "resume"]);
    expect(gaps.record(3_000)).toBe("snapshot");
    expect(gaps.record(3_500)).toBe("resume");
  });

  it("gaps further apart than ten seconds never add up", () => {
    const gaps = new GapCounter();
    expect([0, 10_000, 20_000, 30_000, 40_000].map((t) => gaps.record(t))).toEqual(Array(5).fill("resume"));
  });
});
