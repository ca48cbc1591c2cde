/**
 * The kitchen display and the tracking page in a real Chromium against the real Worker
 * (`wrangler dev`): REST-placed orders arrive live, screens stay in sync, bulk results are
 * honest, an offline screen resumes with exactly the missed events, and a cook can work with
 * keys only.
 */
import { describe, expect, it } from "vitest";
import {
  cancelAsCustomer,
  browserScreens,
  newMerchant,
  openBoard,
  openTracking,
  placeOrder,
  probe,
  roomSeq,
  ticket,
  ticketIn,
  waitLive,
} from "./helpers.ts";

const screen = browserScreens({ width: 1920, height: 1080 });

describe("kitchen display", () => {
  it("shows an order placed through REST within 2 s, with its items, without a reload", async () => {
    const merchantId = await newMerchant("Trattoria Uno");
    const page = await openBoard(await screen(), merchantId);
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    // The top bar names the kitchen (from the room's SNAPSHOT), not just its id.
    expect(await page.locator(".kitchen").innerText()).toBe("Trattoria Uno");
    expect(await page.title()).toBe("Trattoria Uno · Ticket Rail");

    const started = Date.now();
    const order = await placeOrder(
      merchantId,
      "e2e-first",
      [
        { name: "Tonkotsu ramen", quantity: 2, unitPriceCents: 1450, notes: "no egg" },
        { name: "Gyoza (6)", quantity: 1, unitPriceCents: 750 },
      ],
      "Ring twice",
    );
    const card = ticketIn(page, "new", order.id);
    await card.waitFor({ timeout: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000);

    const text = await card.innerText();
    for (const part of ["2×", "Tonkotsu ramen", "no egg", "1×", "Gyoza (6)", "Ring twice", "ON TIME"])
      expect(text).toContain(part);
    // New and not yet looked at: it flashes.
    expect(await card.getAttribute("class")).toContain("unseen");
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    const { stats } = await probe(page);
    expect(stats).toMatchObject({ applied: 1, snapshots: 1, duplicates: 0, gaps: 0 });
  });

  it("accepting on one screen moves the ticket on both, and the tracking page shows accepted with the prep time", async () => {
    const merchantId = await newMerchant();
    const boardA = await openBoard(await screen(), merchantId, "Kim");
    const boardB = await openBoard(await screen(1024, 768), merchantId, "Lee");
    const order = await placeOrder(merchantId, "e2e-bob");
    const tracking = await openTracking(await screen(430, 932), order);
    await tracking.locator('.track-hero[data-status="PLACED"]').waitFor();

    await ticketIn(boardA, "new", order.id).waitFor();
    await ticketIn(boardB, "new", order.id).waitFor();
    await ticket(boardA, order.id).locator('[data-action="accept"][data-prep="15"]').click();

    for (const page of [boardA, boardB]) {
      const card = ticketIn(page, "cooking", order.id);
      await card.waitFor({ timeout: 5_000 });
      expect(await card.getAttribute("data-status")).toBe("ACCEPTED");
      expect(await card.locator(".prep-text").innerText()).toContain("Prep 15 min");
      expect(await ticketIn(page, "new", order.id).count()).toBe(0);
    }

    const hero = tracking.locator('.track-hero[data-status="ACCEPTED"]');
    await hero.waitFor({ timeout: 5_000 });
    expect(await hero.locator(".track-headline").innerText()).toMatch(/accepted/i);
    expect(await hero.locator("[data-prep]").innerText()).toBe("Prep time 15 min");
    expect(await tracking.locator('.step[data-step="ACCEPTED"]').innerText()).toContain("prep time 15 min");
    const trackingStats = await tracking.evaluate(
      () => (window as unknown as { __ticketRail: { stats: { applied: number } } }).__ticketRail.stats.applied,
    );
    expect(trackingStats).toBe(1); // MERCHANT_ACCEPTED, live (the page opened after ORDER_CREATED)
  });

  it("Accept selected moves every selected ticket, and says which one failed and why", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(), merchantId);
    const orders = [
      await placeOrder(merchantId, "e2e-c1"),
      await placeOrder(merchantId, "e2e-c2"),
      await placeOrder(merchantId, "e2e-c3"),
    ];
    for (const o of orders) await ticketIn(page, "new", o.id).waitFor();
    for (const o of orders) await ticket(page, o.id).locator('[data-action="select"]').click();
    const bulkAccept = page.locator('[data-action="bulk-accept"]');
    expect(await bulkAccept.innerText()).toBe("Accept selected (3)");

    // The customer of the middle one changes their mind just before the cook taps.
    const victim = orders[1]!;
    await cancelAsCustomer(victim, "Ordered from the wrong address");
    await bulkAccept.click();

    const notice = page.locator(".notice").filter({ hasText: "Accept selected" });
    await notice.waitFor({ timeout: 5_000 });
    expect(await notice.locator(".notice-head").innerText()).toContain("2 of 3 accepted, 1 failed");
    const failed = notice.locator('[data-result="fail"]');
    expect(await failed.count()).toBe(1);
    expect(await failed.getAttribute("data-order-id")).toBe(victim.id);
    const why = await failed.innerText();
    expect(why).toContain("cancelled");
    expect(why).toContain("Ordered from the wrong address");
    expect(why).toContain("INVALID_TRANSITION");
    expect(await notice.locator('[data-result="ok"]').count()).toBe(2);

    for (const o of [orders[0]!, orders[2]!]) await ticketIn(page, "cooking", o.id).waitFor({ timeout: 5_000 });
    expect(await ticket(page, victim.id).locator("[data-gone]").innerText()).toContain("CANCELLED");
  });

  it("offline, then back: exactly the right tickets, every missed event applied once", async () => {
    const merchantId = await newMerchant();
    const ctx = await screen();
    const page = await openBoard(ctx, merchantId);
    const before = await placeOrder(merchantId, "e2e-o0");
    await ticketIn(page, "new", before.id).waitFor();

    await ctx.setOffline(true);
    await page.locator('.link[data-status="offline"]').waitFor({ timeout: 10_000 });
    // Actions are disabled, never queued, while not live.
    expect(await page.locator(".not-live").isVisible()).toBe(true);
    for (const b of await ticket(page, before.id).locator('[data-action="accept"]').all())
      expect(await b.isDisabled()).toBe(true);
    // A bump-bar accept while offline is refused on screen, not queued for later.
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("a");
    await page.locator(".notice").filter({ hasText: "Not live — nothing was sent" }).waitFor();

    const kept = await placeOrder(merchantId, "e2e-o1");
    const dropped = await placeOrder(merchantId, "e2e-o2");
    await cancelAsCustomer(dropped, "Changed my mind");
    await page.waitForTimeout(1_000);
    expect(await ticket(page, kept.id).count()).toBe(0); // really offline

    await ctx.setOffline(false);
    await waitLive(page, 30_000);
    await ticketIn(page, "new", kept.id).waitFor({ timeout: 5_000 });

    const emitted = await roomSeq(merchantId);
    expect(emitted).toBe(4); // created ×3, cancelled ×1 — and no accept replayed from offline
    await page.waitForTimeout(500);
    expect(await roomSeq(merchantId)).toBe(4);
    expect(await ticket(page, before.id).getAttribute("data-status")).toBe("PLACED");
    const state = await probe(page);
    expect(state.seq).toBe(emitted);
    expect(state.stats.applied).toBe(emitted);
    expect(state.stats).toMatchObject({ duplicates: 0, gaps: 0, snapshots: 1 });
    expect(state.stats.replays).toBeGreaterThanOrEqual(1);
    const active = state.tickets
      .filter((t) => !t.leaving)
      .map((t) => t.id)
      .sort();
    expect(active).toEqual([before.id, kept.id].sort());
    // The cancelled one is either already gone or shown as cancelled, never as a live ticket.
    const droppedTicket = state.tickets.find((t) => t.id === dropped.id);
    if (droppedTicket) expect(droppedTicket).toMatchObject({ status: "CANCELLED", leaving: true });
    for (const b of await ticket(page, kept.id).locator('[data-action="accept"]').all())
      expect(await b.isEnabled()).toBe(true);
  });

  it("a cook accepts and bumps a ticket with keys only", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(), merchantId);
    const order = await placeOrder(merchantId, "e2e-keys");
    await ticketIn(page, "new", order.id).waitFor();
    // The legend is on screen.
    expect(await page.locator(".shortcuts").innerText()).toContain("bump");

    await page.keyboard.press("ArrowDown");
    await page.locator(`.ticket.focused[data-order-id="${order.id}"]`).waitFor();
    await page.keyboard.press("2"); // accept, 15 min
    const cooking = ticketIn(page, "cooking", order.id);
    await cooking.waitFor({ timeout: 5_000 });
    expect(await cooking.locator(".prep-text").innerText()).toContain("15 min");
    await page.keyboard.press("s"); // start
    await page.locator(`.ticket[data-order-id="${order.id}"][data-status="PREPARING"]`).waitFor({ timeout: 5_000 });
    await page.keyboard.press("Enter"); // bump: ready
    await ticketIn(page, "ready", order.id).waitFor({ timeout: 5_000 });
  });

  it("rejects with a reason and changes the prep time, by tap and by key alike", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(), merchantId);
    const [byTap, byKey, cooked] = [
      await placeOrder(merchantId, "e2e-r1"),
      await placeOrder(merchantId, "e2e-r2"),
      await placeOrder(merchantId, "e2e-p1"),
    ];
    for (const o of [byTap, byKey, cooked]) await ticketIn(page, "new", o.id).waitFor();

    // Tap: Reject opens the reasons, Back closes them, a reason rejects ("Item sold out" asks
    // which item first, to 86 it too; "Just reject" does not).
    const tapped = ticket(page, byTap.id);
    await tapped.locator('[data-action="open-reject"]').click();
    await tapped.locator('[data-action="close-reject"]').click();
    expect(await tapped.locator('[data-action="reject"]').count()).toBe(0);
    await tapped.locator('[data-action="open-reject"]').click();
    await tapped.locator('[data-action="pick-sold-out"]').click();
    await tapped.locator('[data-action="reject"][data-reason="1"]:not([data-sold-out])').click();
    expect(await tapped.locator('[data-gone="REJECTED"]').innerText({ timeout: 5_000 })).toContain("Item sold out");

    // Keys: X opens the reasons of the focused ticket, 3 picks "Closing soon".
    await ticket(page, byKey.id).locator(".ticket-no").click();
    await page.keyboard.press("x");
    await ticket(page, byKey.id).locator('[data-action="reject"]').first().waitFor();
    await page.keyboard.press("3");
    expect(await ticket(page, byKey.id).locator('[data-gone="REJECTED"]').innerText({ timeout: 5_000 })).toContain(
      "Closing soon",
    );

    // Prep time: +5 by tap, −5 by key, on the focused cooking ticket.
    await ticket(page, cooked.id).locator('[data-action="accept"][data-prep="10"]').click();
    const cooking = ticketIn(page, "cooking", cooked.id);
    await cooking.locator('.prep-text[data-prep="10"]').waitFor({ timeout: 5_000 });
    await cooking.locator('[data-action="prep-time"][data-delta="5"]').click();
    await cooking.locator('.prep-text[data-prep="15"]').waitFor({ timeout: 5_000 });
    await page.keyboard.press("-");
    await cooking.locator('.prep-text[data-prep="10"]').waitFor({ timeout: 5_000 });
  });

  it("a cancellation of an order already cooking is loud until acknowledged", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(), merchantId);
    const order = await placeOrder(merchantId, "e2e-alarm");
    await ticketIn(page, "new", order.id).waitFor();
    await ticket(page, order.id).locator('[data-action="accept"][data-prep="10"]').click();
    await ticketIn(page, "cooking", order.id).waitFor();

    const { apiCall } = await import("../src/api.ts");
    const { client, token } = await import("./helpers.ts");
    await apiCall(client(), "POST", `/api/orders/${encodeURIComponent(order.id)}/cancel`, {
      token: await token.dispatch(),
      body: { reason: "Customer unreachable" },
    });

    const alarm = page.locator(".alarm");
    await alarm.waitFor({ state: "visible", timeout: 5_000 });
    expect(await alarm.innerText()).toContain("CANCELLED while cooking");
    expect(await alarm.innerText()).toContain("Customer unreachable");
    // It does not go away by itself.
    await page.waitForTimeout(11_000);
    expect(await alarm.isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    await alarm.waitFor({ state: "hidden", timeout: 2_000 });
    expect(await ticket(page, order.id).count()).toBe(0);
  });

  it("fits a 1024×768 tablet: three columns, no sideways scrolling, big touch targets", async () => {
    const merchantId = await newMerchant();
    const page = await openBoard(await screen(1024, 768), merchantId);
    const order = await placeOrder(merchantId, "e2e-tablet", [
      {
        name: "Chicken katsu curry with extra sauce",
        quantity: 3,
        unitPriceCents: 1300,
        notes: "sauce on the side, brown rice",
      },
    ]);
    await ticketIn(page, "new", order.id).waitFor();
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      columns: [...document.querySelectorAll(".column")].map((c) => c.getBoundingClientRect().width),
      link: document.querySelector(".link")?.getBoundingClientRect().width ?? 0,
    }));
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    expect(layout.columns).toHaveLength(3);
    for (const w of layout.columns) expect(w).toBeGreaterThan(280);
    expect(layout.link).toBeGreaterThan(0);
    for (const b of await ticket(page, order.id).locator("button.act").all()) {
      const box = (await b.boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(38);
    }
  });

  it("hostile or unusual text in items, notes and reasons is shown as text, never as HTML", async () => {
    // What a customer can type reaches the kitchen's screen and other customers never: it must be
    // shown exactly as typed, and nothing in it may become markup or run.
    const itemName = `<img src=x onerror="window.__pwned='item'">Pho`;
    const itemNotes = `<script>window.__pwned='notes'</script> extra 🌶️ — عربي \u0007bell`;
    const orderNotes = `<b>Ring</b> & "knock" \u202Eright-to-left`;
    const reason = `<iframe src="javascript:window.parent.__pwned='reason'"></iframe> 🙅`;

    const merchantId = await newMerchant();
    const page = await openBoard(await screen(), merchantId);
    const order = await placeOrder(
      merchantId,
      "e2e-mallory",
      [{ name: itemName, quantity: 1, unitPriceCents: 900, notes: itemNotes }],
      orderNotes,
    );
    const card = ticketIn(page, "new", order.id);
    await card.waitFor();
    const text = (await card.textContent()) ?? "";
    for (const part of [itemName, itemNotes, orderNotes]) expect(text).toContain(part);
    expect(await card.locator("img, script, b, iframe").count()).toBe(0);

    const tracking = await openTracking(await screen(430, 932), order);
    await cancelAsCustomer(order, reason);
    const shown = tracking.locator(".track-reason");
    await shown.waitFor({ timeout: 5_000 });
    expect(await shown.textContent()).toContain(reason);

    for (const p of [page, tracking]) {
      expect(await p.locator("img[src=x], script:not([src]), iframe").count()).toBe(0);
      expect(await p.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    }
  });
});
