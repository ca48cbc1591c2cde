/**
 * What a new user found on the board (issue 14), in Chromium: axe-core (moderate and worse)
 * finds nothing on the sign-in, board and tracking pages; at 1024×768 the top bar names the
 * kitchen and the cook; the bump-bar cursor is real keyboard focus (Tab reaches it, one tab
 * stop, arrows move it); a key that does not fit says why; the bulk result never covers the key
 * list; the choice to enable sound survives a reload.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  baseUrl,
  browserScreens,
  newMerchant,
  openBoard,
  openTracking,
  placeOrder,
  ticket,
  ticketIn,
} from "./helpers.ts";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const screen = browserScreens({ width: 1024, height: 768 });

/** axe-core's violations of impact moderate, serious or critical, as "rule: target" lines. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<{ violations: Violation[] }> } }).axe;
    type Violation = { id: string; impact: string | null; nodes: Array<{ target: unknown[] }> };
    const { violations } = await axe.run(document);
    return violations
      .filter((v) => v.impact === "moderate" || v.impact === "serious" || v.impact === "critical")
      .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${JSON.stringify(n.target)}`));
  });
}

const box = async (page: Page, selector: string) => (await page.locator(selector).boundingBox())!;
const overlaps = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe("accessibility and the board at 1024×768", () => {
  it("axe finds nothing moderate or worse on the sign-in, board and tracking pages", async () => {
    const signIn = await (await screen()).newPage();
    await signIn.goto(`${baseUrl()}/`);
    await signIn.locator("#signin-merchant").waitFor();
    expect(await axeViolations(signIn)).toEqual([]);

    const merchantId = await newMerchant("Trattoria Accessibile");
    const order = await placeOrder(merchantId, "e2e-axe", [
      { name: "Pad thai", quantity: 1, unitPriceCents: 1250, notes: "peanut allergy" },
    ]);
    const board = await openBoard(await screen(), merchantId);
    await ticketIn(board, "new", order.id).waitFor();
    expect(await board.locator("h1").count()).toBe(1);
    expect(await axeViolations(board)).toEqual([]);

    const tracking = await openTracking(await screen(430, 932), order);
    expect(await axeViolations(tracking)).toEqual([]);
  });

  it("the top bar names the kitchen and the cook; the cursor is keyboard focus; a key that does not fit says why", async () => {
    const merchantId = await newMerchant("Trattoria Roma Centrale");
    const page = await openBoard(await screen(1024, 768), merchantId, "Kimberly");
    for (const [selector, text] of [
      [".kitchen", "Trattoria Roma Centrale"],
      [".staff", "Kimberly"],
    ] as const) {
      const el = page.locator(selector);
      expect(await el.isVisible()).toBe(true);
      // Shown whole, not cut off.
      expect(await el.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
      expect(await el.innerText()).toBe(text);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    const [a, b] = [await placeOrder(merchantId, "e2e-k1"), await placeOrder(merchantId, "e2e-k2")];
    await ticket(page, b.id).waitFor();
    const short = `#${a.id.slice(-4).toUpperCase()}`;
    expect(await ticket(page, a.id).locator('[data-action="select"]').getAttribute("aria-label")).toBe(
      `Select order ${short}`,
    );
    // One tab stop among the tickets (roving tabindex), and Tab reaches it.
    expect(await page.locator('.ticket[tabindex="0"]').count()).toBe(1);
    const focusedCard = () =>
      page.evaluate(() => document.activeElement?.closest<HTMLElement>(".ticket")?.dataset.orderId ?? null);
    for (let i = 0; i < 30 && (await focusedCard()) === null; i++) await page.keyboard.press("Tab");
    expect(await focusedCard()).toBe(a.id);
    expect(await ticket(page, a.id).getAttribute("class")).toContain("focused");
    await page.keyboard.press("ArrowDown");
    expect(await focusedCard()).toBe(b.id);
    expect(await page.locator('.ticket[tabindex="0"]').getAttribute("data-order-id")).toBe(b.id);

    // S on a new ticket says why it does nothing.
    await page.keyboard.press("s");
    const hint = page.locator(".notice", { hasText: "accept it first" });
    await hint.waitFor({ timeout: 2_000 });
    expect(await hint.innerText()).toContain("can't start");
  });

  it("at 1024×768 the Accept selected result never covers the key list", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(1024, 768), merchantId);
    const orders = [await placeOrder(merchantId, "e2e-t1"), await placeOrder(merchantId, "e2e-t2")];
    for (const o of orders) await ticket(page, o.id).locator('[data-action="select"]').click();
    await page.locator('[data-action="bulk-accept"]').click();
    const notice = page.locator(".notice", { hasText: "Accept selected" });
    await notice.waitFor({ timeout: 5_000 });
    expect(overlaps(await box(page, ".notice"), await box(page, ".shortcuts"))).toBe(false);
    expect(overlaps(await box(page, ".notices"), await box(page, ".topbar"))).toBe(false);
  });

  it("the choice to enable sound survives a reload on this screen, and the screen asks to stay awake", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(1024, 768), merchantId);
    const sound = page.locator('[data-action="sound"]');
    expect(await sound.innerText()).toContain("Enable sound");
    await sound.click();
    await page.locator('[data-action="sound"][data-sound="on"]').waitFor({ timeout: 5_000 });
    await page.reload();
    await page.locator(".link[data-status=live]").waitFor({ timeout: 15_000 });
    // Not asked again: on (where the browser lets audio resume) or waiting for the first touch.
    expect(await sound.getAttribute("data-sound")).toMatch(/^(on|asleep)$/);
    expect(await sound.innerText()).toBe("♪ Sound on");
    expect(await sound.getAttribute("class")).not.toContain("attention");
    const wake = await page.evaluate(() => (window as unknown as { __ticketRail: { wake: string } }).__ticketRail.wake);
    expect(["held", "refused", "unsupported"]).toContain(wake);
  });
});
