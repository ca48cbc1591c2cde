/**
 * Kitchen operations (issue 14) in a real Chromium against the real Worker: pause and 86 refuse
 * placements and the board shows it; an item taken off after accepting reaches the tracking
 * page live; a scheduled order waits in the strip and fires into the line; recall.
 */
import { describe, expect, it } from "vitest";
import { apiCall } from "../src/api.ts";
import { SoldOutResponseSchema } from "../../schema/index.ts";
import {
  client,
  browserScreens,
  merchantPost,
  newMerchant,
  openBoard,
  openTracking,
  placeOrder,
  placeOrderWith,
  placementRefused,
  probe,
  ticket,
  ticketIn,
  token,
} from "./helpers.ts";

const screen = browserScreens({ width: 1920, height: 1080 });

const lemonade = { name: "Lemonade", quantity: 2, unitPriceCents: 350 };
const pizza = { name: "Margherita pizza", quantity: 1, unitPriceCents: 1100 };

describe("kitchen operations", () => {
  it("a paused kitchen refuses a placement and the board shows it, until it reopens", async () => {
    const merchantId = await newMerchant("Pausa");
    const page = await openBoard(await screen(1024, 768), merchantId);
    await page.locator(".availability-pill").click();
    await page.locator('#kitchen-panel [data-action="availability"][data-mode="PAUSED"][data-minutes="30"]').click();
    const banner = page.locator('.availability-banner[data-mode="PAUSED"]');
    await banner.waitFor({ timeout: 5_000 });
    expect(await banner.innerText()).toMatch(/Paused — new orders are refused until \d\d:\d\d/);
    expect(await page.locator(".availability-pill").innerText()).toMatch(/PAUSED · till \d\d:\d\d/);

    const refused = await placementRefused(merchantId, [pizza]);
    expect(refused).toMatchObject({ status: 409, code: "MERCHANT_PAUSED" });
    expect((refused.details as { until?: string }).until).toMatch(/^\d{4}-/);
    expect((await probe(page)).tickets).toEqual([]);

    // A second screen opening now is told at once (SNAPSHOT carries the kitchen).
    const other = await openBoard(await screen(1920, 1080), merchantId, "Lee");
    await other.locator('.availability-banner[data-mode="PAUSED"]').waitFor();

    await banner.locator('[data-action="availability"][data-mode="OPEN"]').click();
    await banner.waitFor({ state: "hidden", timeout: 5_000 });
    await other.locator(".availability-banner").waitFor({ state: "hidden", timeout: 5_000 });
    const order = await placeOrder(merchantId, "e2e-after-pause", [pizza]);
    await ticketIn(page, "new", order.id).waitFor({ timeout: 5_000 });
  });

  it("86: rejecting for 'Item sold out' 86es the item in the same gesture; the next placement with it is refused; the board lists it", async () => {
    const merchantId = await newMerchant("Ottantasei");
    const page = await openBoard(await screen(), merchantId);
    const order = await placeOrder(merchantId, "e2e-86", [pizza, lemonade]);
    const card = ticketIn(page, "new", order.id);
    await card.waitFor();
    await card.locator('[data-action="open-reject"]').click();
    await card.locator('[data-action="pick-sold-out"]').click();
    await card.locator('[data-action="reject"][data-sold-out="Lemonade"]').click();

    expect(await card.locator('[data-gone="REJECTED"]').innerText({ timeout: 5_000 })).toContain(
      "Item sold out (Lemonade)",
    );
    const chip = page.locator('.sold-out-bar .sold-out-chip[data-item="Lemonade"]');
    await chip.waitFor({ timeout: 5_000 });
    const refused = await placementRefused(merchantId, [pizza, { ...lemonade, name: " lemonade " }]);
    expect(refused).toMatchObject({ status: 409, code: "ITEMS_UNAVAILABLE", details: { items: ["lemonade"] } });

    // From the panel: 86 another item by name; take one off with the chip's ✕.
    await page.keyboard.press("k");
    await page.locator("#eighty-six-name").fill("Tiramisu");
    await page.locator('#kitchen-panel form[data-form="eighty-six"] button[type="submit"]').click();
    await page.locator('.sold-out-chip[data-item="Tiramisu"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('#kitchen-panel li[data-item="Tiramisu"]').innerText()).toMatch(/until \d\d:\d\d/);
    await chip.locator('[data-action="un-eighty-six"]').click();
    await chip.waitFor({ state: "detached", timeout: 5_000 });
    const list = await apiCall(client(), "GET", `/api/merchants/${merchantId}/sold-out`, {
      token: await token.dispatch(),
      schema: SoldOutResponseSchema,
    });
    expect(list.items.map((i) => i.name)).toEqual(["Tiramisu"]);
    expect((await probe(page)).stats).toMatchObject({ gaps: 0, duplicates: 0 });
  });

  it("an item reduced after accepting: the board shows the change, the tracking page the new total, live", async () => {
    const merchantId = await newMerchant("Meno");
    const order = await placeOrder(merchantId, "e2e-less", [pizza, lemonade]);
    await merchantPost(merchantId, order.id, "accept", { prepMinutes: 15 });
    const tracking = await openTracking(await screen(430, 932), order);
    expect(await tracking.locator(".total").innerText()).toContain("$18.00");
    const page = await openBoard(await screen(), merchantId);
    const card = ticketIn(page, "cooking", order.id);
    await card.locator('[data-action="open-adjust"]').click();
    await card.locator('[data-action="adjust-step"][data-index="1"][data-delta="-1"]').click();
    expect(await card.locator(".adjust-total").innerText()).toBe("New total $14.50 (was $18.00)");
    await card.locator(".adjust [data-action='adjust']", { hasText: "Item ran out" }).click();

    await card.locator(".adjusted").waitFor({ timeout: 5_000 });
    expect(await card.locator(".adjusted").innerText()).toContain("Lemonade 2→1 · “Item ran out” · now $14.50");
    const changes = tracking.locator(".track-changes");
    await changes.waitFor({ timeout: 5_000 });
    expect(await changes.innerText()).toContain("Lemonade — 2 → 1");
    expect(await changes.locator(".change-total").innerText()).toBe("New total $14.50 (was $18.00)");
    expect(await tracking.locator(".total").innerText()).toContain("$14.50");
  });

  it("a scheduled order waits in the Scheduled strip with its time, and fires into the line", async () => {
    // Prep 15 min and requestedFor 15 min + 20 s ahead: fireAt is 20 s from now (no waiting for real minutes).
    const merchantId = await newMerchant("Più tardi", { defaultPrepMinutes: 15 });
    const page = await openBoard(await screen(1024, 768), merchantId);
    const requestedFor = new Date(Date.now() + 15 * 60_000 + 20_000).toISOString();
    const order = await placeOrderWith(merchantId, "e2e-later", { items: [pizza], requestedFor });
    expect(order.fireAt).toBeDefined();
    const inStrip = page.locator(`.strip[data-column="scheduled"] .ticket[data-order-id="${order.id}"]`);
    await inStrip.waitFor({ timeout: 5_000 });
    expect(await inStrip.locator(".scheduled").innerText()).toMatch(
      /For (today|tomorrow) \d\d:\d\d · starts \d\d:\d\d/,
    );
    expect(await ticketIn(page, "new", order.id).count()).toBe(0);
    // Accepted ahead, from the strip: it stays there until its time.
    await inStrip.locator('[data-action="accept"][data-prep="15"]').click();
    await page.locator(`.strip .ticket[data-order-id="${order.id}"][data-status="ACCEPTED"]`).waitFor();
    const tracking = await openTracking(await screen(430, 932), order);
    expect(await tracking.locator(".track-scheduled").innerText()).toMatch(/Scheduled for (today|tomorrow) \d\d:\d\d/);

    const fired = ticketIn(page, "cooking", order.id);
    await fired.waitFor({ timeout: 60_000 });
    expect(await inStrip.count()).toBe(0);
    expect(await fired.locator(".new-badge").innerText()).toBe("FIRED");
    expect(await fired.getAttribute("class")).toContain("unseen");
    expect((await probe(page)).stats).toMatchObject({ gaps: 0 });
  });

  it("recall brings a ticket bumped to Ready by mistake back to Cooking, by tap and by key", async () => {
    const merchantId = await newMerchant("Ritorno");
    const page = await openBoard(await screen(), merchantId);
    const [a, b] = [await placeOrder(merchantId, "e2e-r1", [pizza]), await placeOrder(merchantId, "e2e-r2", [pizza])];
    for (const o of [a, b]) {
      await merchantPost(merchantId, o.id, "accept", { prepMinutes: 10 });
      await merchantPost(merchantId, o.id, "ready");
    }
    await ticketIn(page, "ready", a.id).locator('[data-action="recall"]').click();
    await page
      .locator(`.column[data-column="cooking"] .ticket[data-order-id="${a.id}"][data-status="PREPARING"]`)
      .waitFor({ timeout: 5_000 });
    // The cooking ticket has no Recall; U on it says why.
    expect(await ticket(page, a.id).locator('[data-action="recall"]').count()).toBe(0);
    await ticket(page, a.id).locator(".ticket-no").click();
    await page.keyboard.press("u");
    await page.locator(".notice", { hasText: "only a ready ticket can be recalled" }).waitFor();
    await ticket(page, b.id).locator(".ticket-no").click();
    await page.keyboard.press("u");
    await ticketIn(page, "cooking", b.id).waitFor({ timeout: 5_000 });
  });
});
