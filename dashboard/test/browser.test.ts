/**
 * Which browser the tests drive: the order of preference, decided without touching the machine.
 * (That the chosen one really launches is proven by every *.e2e.test.ts.)
 */
import { describe, expect, it } from "vitest";
import {
  chooseSystemChromium,
  NO_CHROMIUM,
  packagedChromiumFits,
  resolveChromium,
  systemCandidates,
  type Machine,
} from "./browser.ts";

const machine = (over: Partial<Machine> & { present?: string[] }): Machine => ({
  env: {},
  platform: "linux",
  arch: "x64",
  home: "/home/cook",
  executable: (p) => (over.present ?? []).includes(p),
  ...over,
});

describe("choosing a Chromium", () => {
  it("takes CHROMIUM_PATH first, over any system browser", () => {
    const m = machine({ env: { CHROMIUM_PATH: "/opt/my/chrome" }, present: ["/opt/my/chrome", "/usr/bin/chromium"] });
    expect(chooseSystemChromium(m)).toEqual({ path: "/opt/my/chrome", source: "CHROMIUM_PATH" });
  });

  it("refuses a CHROMIUM_PATH that is not there instead of quietly using another browser", () => {
    const m = machine({ env: { CHROMIUM_PATH: "/nope/chrome" }, present: ["/usr/bin/chromium"] });
    expect(() => chooseSystemChromium(m)).toThrow(/CHROMIUM_PATH=\/nope\/chrome is not an executable file/);
  });

  it("finds Debian's and Google's packages on Linux, in that order", () => {
    expect(chooseSystemChromium(machine({ present: ["/usr/bin/google-chrome", "/usr/bin/chromium"] }))).toEqual({
      path: "/usr/bin/chromium",
      source: "system",
    });
    expect(chooseSystemChromium(machine({ present: ["/usr/bin/google-chrome"] }))?.path).toBe("/usr/bin/google-chrome");
  });

  it("finds Chrome or Chromium in /Applications and ~/Applications on macOS", () => {
    const mac = (present: string[]) => machine({ platform: "darwin", arch: "arm64", present });
    expect(chooseSystemChromium(mac(["/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"]))?.path).toBe(
      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    );
    expect(chooseSystemChromium(mac(["/home/cook/Applications/Chromium.app/Contents/MacOS/Chromium"]))?.path).toBe(
      "/home/cook/Applications/Chromium.app/Contents/MacOS/Chromium",
    );
    expect(systemCandidates("darwin", "/h").every((p) => p.includes(".app/Contents/MacOS/"))).toBe(true);
  });

  it("falls back to the npm package (no system browser) only where it has a build", () => {
    expect(chooseSystemChromium(machine({}))).toBeNull();
    expect(packagedChromiumFits({ platform: "linux", arch: "x64" })).toBe(true);
    expect(packagedChromiumFits({ platform: "linux", arch: "arm64" })).toBe(false);
    expect(packagedChromiumFits({ platform: "darwin", arch: "arm64" })).toBe(false);
  });

  it("fails with that line, never a silent skip, where nothing fits", async () => {
    await expect(resolveChromium(machine({ platform: "darwin", arch: "arm64" }))).rejects.toThrow(NO_CHROMIUM);
    await expect(resolveChromium(machine({ arch: "arm64" }))).rejects.toThrow(NO_CHROMIUM);
  });

  it("says in one line what to install or set when there is nothing", () => {
    expect(NO_CHROMIUM).not.toContain("\n");
    expect(NO_CHROMIUM).toMatch(/CHROMIUM_PATH/);
    expect(NO_CHROMIUM).toMatch(/apt-get install chromium/);
  });
});
