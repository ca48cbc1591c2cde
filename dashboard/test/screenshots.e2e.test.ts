/**
 * The product's face: a realistic Friday-evening board at 1920×1080 (wall screen) and
 * 1024×768 (tablet), the cancellation alarm, a customer's tracking page, and the kitchen
 * operations — the Scheduled strip, a station's screen, a paused kitchen — written to
 * dashboard/screenshots/*.png (committed, shown in dashboard/README.md). The screens' clocks
 * run 2½ minutes ahead so the countdowns show on-time, due-soon and late tickets at once.
 */
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { apiCall } from "../src/api.ts";
import type { Order, OrderItem } from "../../schema/index.ts";
import {
  baseUrl,
  client,
  browserScreens,
  merchantPost,
  newMerchantWithId,
  openBoard,
  openTracking,
  placeOrder,
  SHOTS,
  ticket,
  token,
  uniqueId,
} from "./helpers.ts";
import { osteria, type Osteria } from "./osteria.ts";

// Every run takes the screenshots; only `UPDATE_SCREENSHOTS=1 npm test` replaces the committed
// ones (SHOTS), so an ordinary test run leaves the working tree clean.
const AHEAD_MS = 150_000;

const newScreen = browserScreens({ width: 1920, height: 1080 });

/** A screen whose clock runs AHEAD_MS ahead (see above). */
async function screen(width: number, height: number, deviceScaleFactor = 1): Promise<BrowserContext> {
  const ctx = await newScreen(width, height, { deviceScaleFactor });
  await ctx.clock.install({ time: Date.now() + AHEAD_MS });
  return ctx;
}

const item = (name: string, quantity: number, unitPriceCents: number, notes?: string): OrderItem => ({
  name,
  quantity,
  unitPriceCents,
  ...(notes ? { notes } : {}),
});

interface Kitchen {
  merchantId: string;
  ready: Order[];
  cooking: Order[];
  fresh: Order[];
}

/** A kitchen mid-rush: three bags waiting for drivers, four on the stove, four just in. */
async function friday(): Promise<Kitchen> {
  // A fresh server gets the pretty id; a reused one (TICKET_RAIL_E2E_URL) a unique one.
  const merchantId = process.env.TICKET_RAIL_E2E_URL ? uniqueId("trattoria") : "trattoria";
  await newMerchantWithId(merchantId, "Trattoria Roma");
  const dispatch = await token.dispatch();
  const assign = (o: Order, driverId: string, name: string, etaMinutes: number) =>
    apiCall(client(), "POST", `/api/orders/${encodeURIComponent(o.id)}/driver`, {
      token: dispatch,
      body: { driverId, name, etaMinutes },
    });

  const ready = [
    await placeOrder(merchantId, "giulia", [
      item("Margherita pizza", 2, 1100, "extra basil"),
      item("Tiramisu", 1, 650),
    ]),
    await placeOrder(merchantId, "marco", [
      item("Smash burger", 1, 1200, "no pickles, medium rare"),
      item("Fries", 1, 450, "extra crispy"),
      item("Cola", 2, 300),
    ]),
    await placeOrder(merchantId, "sofia", [
      item("Caesar salad", 1, 950, "dressing on the side"),
      item("Lemonade", 1, 350),
    ]),
  ];
  const cooking = [
    await placeOrder(
      merchantId,
      "luca",
      [item("Tonkotsu ramen", 2, 1450, "no egg"), item("Gyoza (6)", 1, 750)],
      "Extra napkins please",
    ),
    await placeOrder(merchantId, "chiara", [
      item("Pad thai", 1, 1250, "peanut allergy — no peanuts"),
      item("Chicken wings (8)", 1, 1050, "honey garlic"),
    ]),
    await placeOrder(merchantId, "paolo", [
      item("Chicken katsu curry", 3, 1300, "brown rice"),
      item("Sweet potato fries", 2, 550),
    ]),
    await placeOrder(
      merchantId,
      "elena",
      [
        item("Pepperoni pizza", 1, 1350),
        item("Veggie burger", 1, 1150, "vegan cheese"),
        item("Cheesecake", 1, 700, "birthday candle please"),
      ],
      "Ring the bell, baby sleeping",
    ),
  ];
  const prep = [10, 8, 12, 1, 3, 15, 20];
  const accepted = [...ready, ...cooking];
  for (const [i, o] of accepted.entries()) await merchantPost(merchantId, o.id, "accept", { prepMinutes: prep[i] });
  for (const o of [...ready, cooking[0]!, cooking[2]!]) await merchantPost(merchantId, o.id, "preparing");
  for (const o of ready) await merchantPost(merchantId, o.id, "ready");
  await assign(ready[0]!, "drv-sam", "Sam", 0);
  await apiCall(client(), "POST", `/api/orders/${encodeURIComponent(ready[0]!.id)}/arrived`, {
    token: await token.driver("drv-sam"),
  });
  await assign(ready[1]!, "drv-ana", "Ana", 4);
  await assign(cooking[2]!, "drv-raj", "Raj", 9);
  const fresh = [
    await placeOrder(merchantId, "nico", [item("Smash burger", 2, 1200), item("Fries", 2, 450)], "Leave at the door"),
    await placeOrder(merchantId, "anna", [item("Tonkotsu ramen", 1, 1450, "extra spicy")]),
    await placeOrder(merchantId, "pietro", [
      item("Margherita pizza", 1, 1100, "well done"),
      item("Caesar salad", 1, 950),
      item("Lemonade", 2, 350, "no ice"),
    ]),
    await placeOrder(merchantId, "marta", [item("Gyoza (6)", 2, 750), item("Pad thai", 1, 1250, "mild")]),
  ];
  return { merchantId, ready, cooking, fresh };
}

async function settle(page: Page): Promise<void> {
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(1_200);
}

let kitchen: Kitchen;
let ops: Osteria;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  kitchen = await friday();
  ops = await osteria();
});

describe("screenshots", () => {
  it("the board on a 1920×1080 wall screen", async () => {
    const page = await openBoard(await screen(1920, 1080), kitchen.merchantId, "Kim");
    const { ready, cooking, fresh } = kitchen;
    await ticket(page, fresh[3]!.id).waitFor();
    // A cook has looked at two new tickets and picked two for a bulk accept.
    await ticket(page, fresh[0]!.id).locator(".ticket-no").click();
    await ticket(page, fresh[1]!.id).locator(".ticket-no").click();
    await ticket(page, fresh[0]!.id).locator('[data-action="select"]').click();
    await ticket(page, fresh[1]!.id).locator('[data-action="select"]').click();
    // …and the bump-bar focus sits on a cooking ticket.
    await ticket(page, cooking[2]!.id).locator(".ticket-no").click();
    await settle(page);

    expect(await page.locator('.column[data-column="new"] .col-count').innerText()).toBe("4");
    expect(await page.locator('.column[data-column="cooking"] .col-count').innerText()).toBe("4");
    expect(await page.locator('.column[data-column="ready"] .col-count').innerText()).toBe("3");
    expect(await ticket(page, cooking[0]!.id).getAttribute("data-urgency")).toBe("late");
    expect(await ticket(page, cooking[1]!.id).getAttribute("data-urgency")).toBe("soon");
    expect(await ticket(page, cooking[2]!.id).getAttribute("data-urgency")).toBe("ok");
    expect(await ticket(page, ready[0]!.id).locator(".driver").innerText()).toContain("Sam is here");
    expect(await page.locator('[data-action="bulk-accept"]').innerText()).toBe("Accept selected (2)");
    await page.screenshot({ path: `${SHOTS}board-1920x1080.png` });
  });

  it("the board on a 1024×768 tablet", async () => {
    const page = await openBoard(await screen(1024, 768), kitchen.merchantId, "Lee");
    await ticket(page, kitchen.fresh[3]!.id).waitFor();
    await settle(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${SHOTS}board-1024x768.png` });
  });

  it("the customer's tracking page", async () => {
    const order = kitchen.cooking[2]!;
    const page = await openTracking(await screen(430, 932, 2), order);
    await page.locator('.track-hero[data-status="PREPARING"]').waitFor();
    await settle(page);
    expect(await page.locator(".track-driver").innerText()).toContain("Raj");
    await page.screenshot({ path: `${SHOTS}tracking.png` });
  });

  it("the alarm when an order already cooking is cancelled", async () => {
    const page = await openBoard(await screen(1920, 1080), kitchen.merchantId, "Kim");
    const victim = kitchen.cooking[3]!;
    await ticket(page, victim.id).waitFor();
    await apiCall(client(), "POST", `/api/orders/${encodeURIComponent(victim.id)}/cancel`, {
      token: await token.dispatch(),
      body: { reason: "Customer's card was declined" },
    });
    await page.locator(".alarm").waitFor({ state: "visible" });
    await settle(page);
    expect(await page.locator(".alarm").innerText()).toContain("CANCELLED while cooking");
    await page.screenshot({ path: `${SHOTS}board-cancel-alarm.png` });
  });

  it("kitchen operations: the Scheduled strip, the 86 list and all-day counts on a wall screen", async () => {
    const page = await openBoard(await screen(1920, 1080), ops.merchantId, "Marco");
    for (const o of ops.scheduled) await page.locator(`.strip .ticket[data-order-id="${o.id}"]`).waitFor();
    await ticket(page, ops.cooking[0]!.id).locator(".ticket-no").click();
    await settle(page);
    expect(await page.locator(".strip .col-count").innerText()).toBe(String(ops.scheduled.length));
    await page.screenshot({ path: `${SHOTS}board-scheduled.png` });
  });

  it("kitchen operations: the grill's screen on a tablet", async () => {
    const ctx = await screen(1024, 768);
    const page = await ctx.newPage();
    await page.goto(`${baseUrl()}/?station=grill`);
    await page.locator("#signin-merchant").fill(ops.merchantId);
    await page.locator("#signin-staff").fill("Giulio");
    await page.locator("#signin-dev").click();
    await page.locator(".link[data-status=live]").waitFor();
    await page.locator(".station-tag", { hasText: "Grill" }).waitFor();
    await settle(page);
    expect(await page.locator(".all-day").innerText()).toContain("ALL DAY · GRILL");
    await page.screenshot({ path: `${SHOTS}board-station-grill.png` });
  });

  it("kitchen operations: a paused kitchen, on a tablet", async () => {
    await apiCall(client(), "PUT", `/api/merchants/${ops.merchantId}/availability`, {
      token: await token.dispatch(),
      body: { mode: "PAUSED", until: new Date(Date.now() + 45 * 60_000).toISOString(), reason: "Oven repair" },
    });
    const page = await openBoard(await screen(1024, 768), ops.merchantId, "Marco");
    await page.locator('.availability-banner[data-mode="PAUSED"]').waitFor();
    await settle(page);
    await page.screenshot({ path: `${SHOTS}board-paused.png` });
  });
});
