/**
 * Browser-test helpers: REST calls against the running Worker (dev tokens), the Chromium that
 * browser.ts finds, and page helpers for the kitchen board and the tracking page.
 */
import { afterAll, beforeAll, inject } from "vitest";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { fileURLToPath } from "node:url";
import { ApiError, apiCall, devToken, type ApiClient } from "../src/api.ts";
import {
  ListOrdersResponseSchema,
  OrderSchema,
  type Order,
  type OrderItem,
  type PlaceOrderBody,
  type UpsertMerchantBody,
} from "../../schema/index.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export const baseUrl = (): string => inject("baseUrl");
export const client = (): ApiClient => ({ baseUrl: baseUrl(), fetch: (input, init) => fetch(input, init) });

import { launchChromium } from "./browser.ts";

export { launchChromium };

/**
 * One Chromium for the test file, started before its tests, and a fresh context per screen;
 * everything is closed after the file. `screen()` takes the viewport (default: the file's) and
 * any other context option (a scale factor, …).
 */
export function browserScreens(defaults: { width: number; height: number }) {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
  });
  return async function screen(
    width = defaults.width,
    height = defaults.height,
    options: BrowserContextOptions = {},
  ): Promise<BrowserContext> {
    if (!browser) throw new Error("screen() was called before the browser started");
    const ctx = await browser.newContext({ viewport: { width, height }, ...options });
    contexts.push(ctx);
    return ctx;
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export const token = {
  customer: (id: string) => devToken(client(), { role: "customer", sub: id }),
  merchant: (merchantId: string, staff = "e2e-staff") =>
    devToken(client(), { role: "merchant", sub: staff, merchantId }),
  dispatch: () => devToken(client(), { role: "dispatch", sub: "e2e-dispatch" }),
  driver: (id: string) => devToken(client(), { role: "driver", sub: id }),
};

/** Where screenshots go: committed ones only with `UPDATE_SCREENSHOTS=1`, else test-results/ (the tree stays clean). */
export const SHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? fileURLToPath(new URL("../screenshots/", import.meta.url))
    : fileURLToPath(new URL("../../test-results/screenshots/", import.meta.url));

export type MerchantSettings = Omit<UpsertMerchantBody, "name">;

/** A fresh merchant per test: its own room, so seq counts start at 0. */
export function newMerchant(name = "E2E Kitchen", settings: MerchantSettings = {}): Promise<string> {
  return newMerchantWithId(uniqueId("m"), name, settings);
}

export async function newMerchantWithId(
  merchantId: string,
  name: string,
  settings: MerchantSettings = {},
): Promise<string> {
  await apiCall(client(), "PUT", `/api/merchants/${merchantId}`, {
    token: await token.dispatch(),
    body: { name, ...settings },
  });
  return merchantId;
}

export const SAMPLE_ITEMS: OrderItem[] = [
  { name: "Margherita pizza", quantity: 2, unitPriceCents: 1100, notes: "extra basil" },
  { name: "Lemonade", quantity: 1, unitPriceCents: 350 },
];

export async function placeOrder(
  merchantId: string,
  customerId = "e2e-alice",
  items: OrderItem[] = SAMPLE_ITEMS,
  notes?: string,
): Promise<Order> {
  return apiCall(client(), "POST", "/api/orders", {
    token: await token.customer(customerId),
    body: { merchantId, items, ...(notes ? { notes } : {}) },
    schema: OrderSchema,
  });
}

/** A placement with the v2 fields (requestedFor, customerName, …), as a customer. */
export async function placeOrderWith(
  merchantId: string,
  customerId: string,
  body: Omit<PlaceOrderBody, "merchantId">,
): Promise<Order> {
  return apiCall(client(), "POST", "/api/orders", {
    token: await token.customer(customerId),
    body: { merchantId, ...body },
    schema: OrderSchema,
  });
}

/** A placement the room must refuse: its error (code, message, details). */
export async function placementRefused(
  merchantId: string,
  items: OrderItem[],
): Promise<{ status: number; code: string; details: unknown }> {
  try {
    await placeOrder(merchantId, uniqueId("e2e-refused"), items);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, code: err.code, details: err.details };
    throw err;
  }
  throw new Error("the placement was accepted");
}

export async function cancelAsCustomer(order: Order, reason: string): Promise<Order> {
  return apiCall(client(), "POST", `/api/orders/${encodeURIComponent(order.id)}/cancel`, {
    token: await token.customer(order.customerId),
    body: { reason },
    schema: OrderSchema,
  });
}

export async function merchantPost(
  merchantId: string,
  orderId: string,
  action: "accept" | "preparing" | "ready" | "recall" | "adjust" | `items/${number}/done`,
  body: object = {},
): Promise<Order> {
  return apiCall(client(), "POST", `/api/merchants/${merchantId}/orders/${encodeURIComponent(orderId)}/${action}`, {
    token: await token.merchant(merchantId),
    body,
    schema: OrderSchema,
  });
}

/** The merchant room's current seq: how many stream events it has emitted. */
export async function roomSeq(merchantId: string): Promise<number> {
  const res = await apiCall(client(), "GET", `/api/merchants/${merchantId}/orders?status=active`, {
    token: await token.dispatch(),
    schema: ListOrdersResponseSchema,
  });
  return res.seq;
}

/** Signs a screen in through the dev sign-in form, like a cook would, and waits until live. */
export async function openBoard(context: BrowserContext, merchantId: string, staff = "Kim"): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[board page error] ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "warning" || (m.type() === "error" && !m.text().includes("Failed to load resource")))
      console.warn(`[board console] ${m.text()}`);
  });
  await page.goto(`${baseUrl()}/`);
  await page.locator("#signin-merchant").fill(merchantId);
  await page.locator("#signin-staff").fill(staff);
  await page.locator("#signin-dev").click();
  await waitLive(page);
  return page;
}

/** Opens the tracking page as the order's customer (dev sign-in with the customer id). */
export async function openTracking(context: BrowserContext, order: Order): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[tracking page error] ${e.message}`));
  await page.goto(`${baseUrl()}/track/${encodeURIComponent(order.id)}`);
  await page.locator("#signin-customer").fill(order.customerId);
  await page.locator("#signin-dev").click();
  await page.locator(".link[data-status=live]").waitFor({ timeout: 15_000 });
  return page;
}

export async function waitLive(page: Page, timeout = 15_000): Promise<void> {
  await page.locator(".link[data-status=live]").waitFor({ timeout });
}

export const ticket = (page: Page, orderId: string) => page.locator(`.ticket[data-order-id="${orderId}"]`);
export const ticketIn = (page: Page, column: "new" | "cooking" | "ready", orderId: string) =>
  page.locator(`.column[data-column="${column}"] .ticket[data-order-id="${orderId}"]`);

export interface ProbeStats {
  applied: number;
  duplicates: number;
  gaps: number;
  snapshots: number;
  replays: number;
}

export function probe(page: Page): Promise<{
  stats: ProbeStats;
  status: string;
  seq: number;
  tickets: Array<{ id: string; status: string; leaving: boolean }>;
}> {
  return page.evaluate(() => {
    const p = (
      window as unknown as {
        __ticketRail: {
          stats: ProbeStats;
          status: string;
          seq: number;
          tickets: Array<{ id: string; status: string; leaving: boolean }>;
        };
      }
    ).__ticketRail;
    return { stats: { ...p.stats }, status: p.status, seq: p.seq, tickets: p.tickets };
  });
}
