/**
 * Stations and printing in a real Chromium: a station's screen (`/?station=grill`) connects with
 * `?station=`, shows only its items and all-day counts that add up, bumps items, and switching
 * station resumes gap-free from the one stream; P prints a kitchen ticket and a bag label with
 * the print stylesheet (screenshot), and auto-print prints on accept.
 */
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { apiCall } from "../src/api.ts";
import {
  baseUrl,
  client,
  browserScreens,
  merchantPost,
  newMerchant,
  openBoard,
  placeOrder,
  placeOrderWith,
  probe,
  SHOTS,
  ticket,
  token,
  waitLive,
} from "./helpers.ts";

const screen = browserScreens({ width: 1920, height: 1080 });

beforeAll(() => {
  mkdirSync(SHOTS, { recursive: true });
});

const STATIONS = [
  { id: "grill", name: "Grill", match: ["*burger*", "steak*"] },
  { id: "fryer", name: "Fryer", match: ["*fries*", "*wings*"] },
];
const item = (name: string, quantity: number, notes?: string) => ({
  name,
  quantity,
  unitPriceCents: 900,
  ...(notes ? { notes } : {}),
});

/** What a station's screen shows, read from the page: each card's item lines, and the all-day panel. */
async function readStation(page: Page) {
  return page.evaluate(() => {
    const cards = [...document.querySelectorAll<HTMLElement>(".column .ticket")].map((card) => ({
      id: card.dataset.orderId,
      column: card.closest<HTMLElement>(".column")?.dataset.column,
      lines: [...card.querySelectorAll<HTMLElement>(".items li.item:not(.done)")].map((li) => ({
        qty: Number.parseInt(li.querySelector(".qty")?.textContent ?? "0", 10),
        name: li.querySelector(".item-name")?.textContent ?? "",
      })),
    }));
    const allDay = [...document.querySelectorAll<HTMLElement>(".all-day li")].map((li) => ({
      name: li.dataset.item,
      cooking: Number(li.dataset.cooking),
      incoming: Number(li.dataset.incoming),
    }));
    return { cards, allDay };
  });
}

describe("stations", () => {
  it("a station's screen shows only its items, all-day counts add up, and it resumes gap-free from the one stream", async () => {
    const merchantId = await newMerchant("Grill House", { stations: STATIONS });
    const orders = [
      await placeOrder(merchantId, "e2e-s1", [item("Smash burger", 2), item("Fries", 2), item("Cola", 1)]),
      await placeOrder(merchantId, "e2e-s2", [item("Steak frites", 1), item("Chicken wings", 1)]),
      await placeOrder(merchantId, "e2e-s3", [item("Cola", 2)]),
      await placeOrder(merchantId, "e2e-s4", [item("Smash burger", 1)]),
    ];
    for (const o of orders.slice(0, 3)) await merchantPost(merchantId, o.id, "accept", { prepMinutes: 15 });

    const ctx = await screen(1024, 768);
    const page = await ctx.newPage();
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(`${baseUrl()}/?station=grill`);
    await page.locator("#signin-merchant").fill(merchantId);
    await page.locator("#signin-staff").fill("Kim");
    await page.locator("#signin-dev").click();
    await waitLive(page);
    await page.locator(".station-tag", { hasText: "Grill" }).waitFor();
    expect(sockets.some((u) => new URL(u).searchParams.get("station") === "grill")).toBe(true);

    const grill = await readStation(page);
    // The cola-only order is not on the grill's screen; the others show only their grill lines.
    expect(grill.cards.map((c) => c.id).sort()).toEqual([orders[0]!.id, orders[1]!.id, orders[3]!.id].sort());
    for (const c of grill.cards) for (const l of c.lines) expect(l.name).toMatch(/burger|Steak/i);
    expect(await ticket(page, orders[0]!.id).locator(".other-station").innerText()).toBe(
      "+ 2 items for other stations",
    );
    // All day: the sum of what the grill's cooking tickets show, and what is coming on new ones.
    const sum = (column: string, name: string) =>
      grill.cards
        .filter((c) => c.column === column)
        .flatMap((c) => c.lines)
        .filter((l) => l.name === name)
        .reduce((n, l) => n + l.qty, 0);
    expect(grill.allDay).toEqual([
      { name: "Smash burger", cooking: sum("cooking", "Smash burger"), incoming: sum("new", "Smash burger") },
      { name: "Steak frites", cooking: sum("cooking", "Steak frites"), incoming: 0 },
    ]);
    expect(grill.allDay[0]).toEqual({ name: "Smash burger", cooking: 2, incoming: 1 });

    // The grill bumps its burgers; the expo still has the order to bump to Ready.
    const first = ticket(page, orders[0]!.id);
    await first.locator('[data-action="item-done"]').first().click();
    await first.locator(".station-done", { hasText: "GRILL DONE" }).waitFor({ timeout: 5_000 });
    await page.locator('.all-day li[data-item="Smash burger"][data-cooking="0"]').waitFor();
    expect(await first.getAttribute("data-status")).toBe("ACCEPTED");

    // Switch to the fryer with the picker: the same stream resumes (a replay, not a snapshot).
    const before = await probe(page);
    await page.keyboard.press("k");
    await page.locator("#station-picker").selectOption("fryer");
    await page.keyboard.press("Escape");
    await page.locator(".station-tag", { hasText: "Fryer" }).waitFor();
    expect(new URL(page.url()).searchParams.get("station")).toBe("fryer");
    await page.waitForFunction(
      (n) => (window as unknown as { __ticketRail: { stats: { replays: number } } }).__ticketRail.stats.replays > n,
      before.stats.replays,
    );
    await waitLive(page);
    expect(sockets.some((u) => new URL(u).searchParams.get("station") === "fryer")).toBe(true);
    const fryer = await readStation(page);
    expect(fryer.cards.map((c) => c.id).sort()).toEqual([orders[0]!.id, orders[1]!.id].sort());
    expect(fryer.allDay).toEqual([
      { name: "Fries", cooking: 2, incoming: 0 },
      { name: "Chicken wings", cooking: 1, incoming: 0 },
    ]);
    const after = await probe(page);
    expect(after.stats).toMatchObject({ snapshots: 1, gaps: 0, duplicates: 0 });
    expect(after.seq).toBe(before.seq);
  });
});

describe("printing", () => {
  it("P prints a kitchen ticket and a bag label with the print stylesheet; auto-print prints on accept", async () => {
    const merchantId = await newMerchant("Trattoria Stampa");
    const order = await placeOrderWith(merchantId, "e2e-print", {
      items: [item("Pad thai", 2, "severe peanut allergy — no peanuts"), item("Spring rolls", 1)],
      notes: "Gluten-free soy sauce please",
      customerName: "Ana",
      fulfilment: "delivery",
      paid: true,
      requestedFor: new Date(Date.now() + 26 * 3_600_000).toISOString(),
    });
    await merchantPost(merchantId, order.id, "accept", { prepMinutes: 20 });
    await apiCall(client(), "POST", `/api/orders/${encodeURIComponent(order.id)}/driver`, {
      token: await token.dispatch(),
      body: { driverId: "drv-sam", name: "Sam", etaMinutes: 12 },
    });
    const page = await openBoard(await screen(1024, 768, { deviceScaleFactor: 2 }), merchantId);
    await page.evaluate(() => {
      const w = window as unknown as { __prints: number; print: () => void };
      w.__prints = 0;
      w.print = () => {
        w.__prints++;
      };
    });
    await ticket(page, order.id).waitFor();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("p");
    await page.waitForFunction(() => (window as unknown as { __prints: number }).__prints === 1);

    await page.emulateMedia({ media: "print" });
    expect(await page.locator(".kds").isVisible()).toBe(false);
    const slips = page.locator(".print-root");
    expect(await slips.locator(".slip").count()).toBe(2);
    const kitchenTicket = await slips.locator(".slip-ticket").innerText();
    for (const part of [
      order.id.slice(-4).toUpperCase(),
      "2× Pad thai",
      "1× Spring rolls",
      "ALLERGY: PEANUT, GLUTEN, SOY",
      "Driver: Sam",
      "Scheduled for",
    ])
      expect(kitchenTicket).toContain(part);
    const label = await slips.locator(".slip-label").innerText();
    for (const part of ["Ana · Delivery", "2× Pad thai · 1× Spring rolls", "ALLERGY", "PAID"])
      expect(label).toContain(part);
    await slips.screenshot({ path: `${SHOTS}print-ticket.png` });
    await page.emulateMedia({ media: "screen" });

    // Auto-print on accept (this screen's setting): an order accepted anywhere prints here.
    await page.keyboard.press("k");
    await page.locator("#auto-print").check();
    await page.keyboard.press("Escape");
    const next = await placeOrder(merchantId, "e2e-print-2", [item("Fries", 1)]);
    await ticket(page, next.id).waitFor();
    await merchantPost(merchantId, next.id, "accept", {});
    await page.waitForFunction(() => (window as unknown as { __prints: number }).__prints === 2);
    expect(await page.locator(".print-root .slip-ticket").innerText()).toContain("1× Fries");
    expect((await probe(page)).stats.gaps).toBe(0);
  });
});
