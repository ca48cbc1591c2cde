/**
 * The production sign-in of a kitchen screen, in a real Chromium against the real Worker:
 * dispatch creates a pairing code, the screen pairs with it through "Enter pairing code", goes
 * live, renews its short-lived token by itself (the test Worker gives devices 20 s tokens) and
 * keeps working — reconnecting with the new token — past the first token's expiry; revoked by
 * dispatch, it is back on the sign-in at once, saying why.
 */
import { describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { apiCall } from "../src/api.ts";
import { DeviceListResponseSchema, PairingCodeResponseSchema } from "../../schema/index.ts";
import { browserScreens, client, newMerchant, placeOrder, ticketIn, token, waitLive } from "./helpers.ts";

const screen = browserScreens({ width: 1280, height: 800 });

async function createCode(merchantId: string): Promise<string> {
  const res = await apiCall(client(), "POST", `/api/merchants/${merchantId}/pairing-codes`, {
    token: await token.dispatch(),
    schema: PairingCodeResponseSchema,
  });
  return res.code;
}

interface StoredKitchen {
  token: string;
  name?: string;
  device?: { id: string; refreshToken: string; pendingKey?: string };
}

function stored(page: Page): Promise<StoredKitchen | null> {
  return page.evaluate(() => {
    const raw = localStorage.getItem("ticketRail.kitchen");
    return raw ? (JSON.parse(raw) as StoredKitchen) : null;
  });
}

function claims(jwt: string): { exp: number; iat: number; sub: string; merchantId: string; device?: boolean } {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"));
}

async function openSignIn(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await screen();
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error(`[pairing page error] ${e.message}`));
  await page.goto(`${client().baseUrl}/`);
  await page.locator("#signin-code").waitFor();
  return { ctx, page };
}

async function pairThroughUi(page: Page, code: string, name: string): Promise<void> {
  await page.locator("#signin-code").fill(code.toLowerCase());
  await page.locator("#signin-device").fill(name);
  await page.locator("#signin-pair").click();
}

describe("pairing a kitchen screen", () => {
  it("pairs with a code, goes live, renews itself past its first token's expiry, and a revoke signs it out", async () => {
    const merchantId = await newMerchant("Pairing Kitchen");
    const { ctx, page } = await openSignIn();
    await pairThroughUi(page, await createCode(merchantId), "Pass screen");
    await waitLive(page);

    const first = (await stored(page))!;
    expect(first.device?.refreshToken).toMatch(/^rt1\./);
    const firstClaims = claims(first.token);
    expect(firstClaims).toMatchObject({ merchantId, sub: first.device!.id, device: true });
    const ttl = firstClaims.exp - firstClaims.iat;
    expect(ttl, "the test Worker runs with DEVICE_TOKEN_TTL_SECONDS=20 (worker-server.ts)").toBeLessThanOrEqual(30);

    const early = await placeOrder(merchantId, "e2e-pair-1");
    await ticketIn(page, "new", early.id).waitFor({ timeout: 5_000 });

    // Renewed before expiry, by itself: a new access token and a new refresh token.
    await page.waitForFunction(
      (old) => JSON.parse(localStorage.getItem("ticketRail.kitchen") ?? "{}").token !== old,
      first.token,
      { timeout: ttl * 1000 },
    );
    const renewed = (await stored(page))!;
    expect(renewed.device?.refreshToken).not.toBe(first.device?.refreshToken);
    expect(renewed.device?.pendingKey).toBeUndefined();
    expect(claims(renewed.token).sub).toBe(first.device!.id);
    expect(claims(renewed.token).exp).toBeGreaterThan(firstClaims.exp);

    // Past the first token's expiry, the socket drops and comes back: with the new token.
    const wait = firstClaims.exp * 1000 + 1_000 - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    await ctx.setOffline(true);
    await page.locator('.link[data-status="offline"]').waitFor({ timeout: 10_000 });
    await ctx.setOffline(false);
    await waitLive(page, 30_000);
    const late = await placeOrder(merchantId, "e2e-pair-2");
    await ticketIn(page, "new", late.id).waitFor({ timeout: 5_000 });
    expect(await page.locator("#signin-code").count()).toBe(0);

    const dispatch = await token.dispatch();
    const { devices } = await apiCall(client(), "GET", `/api/merchants/${merchantId}/devices`, {
      token: dispatch,
      schema: DeviceListResponseSchema,
    });
    expect(devices.map((d) => d.name)).toEqual(["Pass screen"]);

    // Revoked: back to the sign-in within seconds, with the reason, and nothing kept. (The room
    // closes the socket at once; Chromium reports the close once the connection is down, ≈2 s
    // under wrangler dev.)
    const revokedAt = Date.now();
    await apiCall(client(), "DELETE", `/api/merchants/${merchantId}/devices/${first.device!.id}`, { token: dispatch });
    await page.locator("#signin-code").waitFor({ timeout: 10_000 });
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(await page.locator(".signin-error").innerText()).toMatch(/removed from the kitchen/);
    expect(await stored(page)).toBeNull();
  });

  it("says so when a code is wrong, and pairs with the right one", async () => {
    const merchantId = await newMerchant("Second Kitchen");
    const { page } = await openSignIn();
    await pairThroughUi(page, "ZZZZ-ZZZZ", "Grill");
    await page.locator(".signin-error").filter({ hasText: "wrong, used or expired" }).waitFor();
    await pairThroughUi(page, await createCode(merchantId), "Grill");
    await waitLive(page);
    expect((await stored(page))?.name).toBe("Grill");
  });
});
