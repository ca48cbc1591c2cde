/**
 * Which Chromium drives the browser tests, the screenshots and anything else that opens a page.
 *
 * In this order: `CHROMIUM_PATH` (a browser of your choice); a system Chrome or Chromium where
 * the platform keeps it; otherwise the Chromium that ships inside the `@sparticuz/chromium` npm
 * package (Linux x64), which `npm install` brings like any dependency. Nothing is ever downloaded
 * from anywhere else. When none is found the caller gets one line saying what to do: the browser
 * tests fail with it, they never pass by not running.
 */
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { chromium, type Browser } from "playwright-core";

export interface ChromiumChoice {
  path: string;
  /** Where it came from, for the test log: "CHROMIUM_PATH", "system" or "@sparticuz/chromium". */
  source: "CHROMIUM_PATH" | "system" | "@sparticuz/chromium";
}

export interface Machine {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  arch: string;
  home: string;
  /** True if `path` is an executable file. */
  executable: (path: string) => boolean;
}

/** Where each platform's packages and installers put Chrome and Chromium, most specific first. */
export function systemCandidates(platform: NodeJS.Platform, home: string): string[] {
  if (platform === "darwin") {
    const apps = [
      "Google Chrome.app/Contents/MacOS/Google Chrome",
      "Chromium.app/Contents/MacOS/Chromium",
      "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
      "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
      "Brave Browser.app/Contents/MacOS/Brave Browser",
    ];
    return apps.flatMap((app) => [`/Applications/${app}`, `${home}/Applications/${app}`]);
  }
  if (platform === "linux") {
    return [
      "/usr/bin/chromium",
      "/usr/bin/chromium-browser",
      "/usr/bin/google-chrome",
      "/usr/bin/google-chrome-stable",
      "/snap/bin/chromium",
      "/usr/bin/microsoft-edge",
      "/opt/google/chrome/chrome",
    ];
  }
  return [];
}

/** The one line a newcomer reads when there is no browser to drive. */
export const NO_CHROMIUM =
  "No Chromium for the browser tests: set CHROMIUM_PATH=/path/to/chrome, or install Google Chrome or Chromium " +
  "(Debian/Ubuntu: apt-get install chromium; macOS: Google Chrome in /Applications); on Linux x64 `npm install` brings one (@sparticuz/chromium).";

/**
 * Decides which browser to use, or null to fall back on the npm package. Pure, so the order of
 * preference is tested without touching the machine; an explicit CHROMIUM_PATH that is not
 * executable is an error, never silently replaced by another browser.
 */
export function chooseSystemChromium(machine: Machine): ChromiumChoice | null {
  const explicit = machine.env.CHROMIUM_PATH?.trim();
  if (explicit) {
    if (!machine.executable(explicit))
      throw new Error(`CHROMIUM_PATH=${explicit} is not an executable file; ${NO_CHROMIUM}`);
    return { path: explicit, source: "CHROMIUM_PATH" };
  }
  const found = systemCandidates(machine.platform, machine.home).find((p) => machine.executable(p));
  return found ? { path: found, source: "system" } : null;
}

/** The npm package ships a Linux x64 build only. */
export function packagedChromiumFits(machine: Pick<Machine, "platform" | "arch">): boolean {
  return machine.platform === "linux" && machine.arch === "x64";
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const thisMachine = (): Machine => ({
  env: process.env,
  platform: process.platform,
  arch: process.arch,
  home: homedir(),
  executable: isExecutable,
});

/** The browser for `machine`; rejects with NO_CHROMIUM if there is none. */
export async function resolveChromium(machine: Machine): Promise<ChromiumChoice> {
  const system = chooseSystemChromium(machine);
  if (system) return system;
  if (!packagedChromiumFits(machine)) throw new Error(NO_CHROMIUM);
  let packaged: { executablePath: () => Promise<string> };
  try {
    packaged = (await import("@sparticuz/chromium")).default;
  } catch {
    throw new Error(NO_CHROMIUM);
  }
  // Unpacks the brotli-compressed build into the temp dir once (≈ 2 s), then reuses it.
  return { path: await packaged.executablePath(), source: "@sparticuz/chromium" };
}

let chosen: Promise<ChromiumChoice> | null = null;

/** The browser for this machine, decided once per process. */
export function findChromium(): Promise<ChromiumChoice> {
  return (chosen ??= resolveChromium(thisMachine()));
}

/**
 * Flags for a headless browser on a closed network: without the background-networking ones
 * Chromium keeps dialling Google's hosts and gets refused, many at a time.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  const { path } = await findChromium();
  return chromium.launch({ executablePath: path, args: CHROMIUM_ARGS });
}
