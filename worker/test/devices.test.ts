/**
 * A paired screen's life (CONTRACT.md Additions v2): it renews its tokens by itself (rotation:
 * the old refresh token stops working; a reused one revokes the device), it is listed at its
 * merchant, and a revocation reaches every path at once — its open sockets close with 4401,
 * its access tokens get 401 on REST and on socket upgrades, its refresh token gets 401 —
 * while the merchant's other screens carry on.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_REVOKED, DeviceListResponseSchema, RefreshResponseSchema } from "../../schema/index.ts";
import { IDENTITY_HEADER } from "../rooms/live-room.ts";
import { expectError } from "./support/assertions.ts";
import { claimsOf, pairDevice, refresh } from "./device-support.ts";
import { token, tokens } from "./support/credentials.ts";
import { merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { BASE, api } from "./support/http.ts";
import { connect, openMerchantSocket, openOrderSocket } from "./support/sockets.ts";

const board = (merchantId: string, bearer: string) =>
  api("GET", `/api/merchants/${merchantId}/orders`, { token: bearer });
const devicesOf = (merchantId: string, bearer: string) =>
  api("GET", `/api/merchants/${merchantId}/devices`, { token: bearer });
const revoke = (merchantId: string, deviceId: string, bearer: string) =>
  api("DELETE", `/api/merchants/${merchantId}/devices/${deviceId}`, { token: bearer });

describe("POST /api/devices/refresh", () => {
  it("renews both tokens; the old refresh token stops working, and its reuse revokes the device", async () => {
    const { merchantId } = await setupMerchant();
    const paired = await pairDevice(merchantId);
    const first = await refresh(paired.refreshToken);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const renewed = RefreshResponseSchema.strict().parse(first.body);
    expect(renewed.refreshToken).not.toBe(paired.refreshToken);
    expect(claimsOf(renewed.token)).toMatchObject({
      role: "merchant",
      sub: paired.device.id,
      merchantId,
      device: true,
    });
    expect((await board(merchantId, renewed.token)).status).toBe(200);
    const second = await refresh(renewed.refreshToken);
    expect(second.status).toBe(200);
    const screen = await openMerchantSocket(merchantId, second.body.token);

    // The first refresh token again: reuse. Someone else holds this credential, so the device goes.
    const reused = await refresh(paired.refreshToken);
    expectError(reused, 401, "UNAUTHORIZED", "reused refresh token");
    expect(reused.body.error.details).toEqual({ reason: "reused" });
    expect((await screen.waitClosed(2_000)).code).toBe(CLOSE_REVOKED);
    expectError(await refresh(second.body.refreshToken), 401, "UNAUTHORIZED", "the family's newest token");
    expectError(await board(merchantId, second.body.token), 401, "UNAUTHORIZED", "the family's access token");
    const list = await devicesOf(merchantId, await tokens.dispatch());
    expect(list.body.devices[0].revokedAt).toBeDefined();
  });

  it("answers the same request again (same Idempotency-Key, within a minute) with the same refresh token", async () => {
    const { merchantId } = await setupMerchant();
    const paired = await pairDevice(merchantId);
    const key = crypto.randomUUID();
    const first = await refresh(paired.refreshToken, key);
    expect(first.status).toBe(200);
    // The answer was lost on the kitchen Wi-Fi: the screen sends the very same request again.
    const again = await refresh(paired.refreshToken, key);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.refreshToken).toBe(first.body.refreshToken);
    expect((await board(merchantId, again.body.token)).status).toBe(200);
    // Another request with the spent token (another key) is reuse, as is the repeat once the new
    // token was used.
    const next = await refresh(again.body.refreshToken, crypto.randomUUID());
    expect(next.status).toBe(200);
    expectError(await refresh(paired.refreshToken, key), 401, "UNAUTHORIZED", "repeat after the next rotation");
    expectError(await board(merchantId, next.body.token), 401, "UNAUTHORIZED", "device revoked by the reuse");
  });

  it("refuses tokens it never issued without touching the device (guessing must not revoke it)", async () => {
    const { merchantId } = await setupMerchant();
    const paired = await pairDevice(merchantId);
    const [prefix, m, d] = paired.refreshToken.split(".");
    for (const forged of [
      `${prefix}.${m}.${d}.${"A".repeat(43)}`,
      `${prefix}.${m}.dev-unknown.${"A".repeat(43)}`,
      `${prefix}.${(await setupMerchant()).merchantId}.${d}.${paired.refreshToken.split(".")[3]}`,
      "not-a-refresh-token",
      paired.token,
    ]) {
      expectError(await refresh(forged), 401, "UNAUTHORIZED", forged.slice(0, 40));
    }
    expectError(await api("POST", "/api/devices/refresh", { body: {} }), 400, "BAD_REQUEST");
    expect((await refresh(paired.refreshToken)).status).toBe(200);
  });
});

describe("GET /api/merchants/:merchantId/devices", () => {
  it("lists the merchant's screens for that merchant (staff and devices), dispatch and a platform", async () => {
    const { merchantId, staff } = await setupMerchant();
    const grill = await pairDevice(merchantId, "Grill");
    const pass = await pairDevice(merchantId, "Pass");
    for (const caller of [staff, grill.token, await tokens.dispatch(), await token("platform", "p-1")]) {
      const res = await devicesOf(merchantId, caller);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const { devices } = DeviceListResponseSchema.strict().parse(res.body);
      expect(devices.map((d) => [d.id, d.name]).sort()).toEqual(
        [
          [grill.device.id, "Grill"],
          [pass.device.id, "Pass"],
        ].sort(),
      );
      for (const d of devices) {
        expect(Date.parse(d.pairedAt)).toBeLessThanOrEqual(Date.now());
        expect(d.lastSeenAt).toBeDefined();
        expect(d.revokedAt).toBeUndefined();
      }
    }
    const other = await setupMerchant();
    for (const caller of [other.staff, await tokens.customer(), await tokens.driver()]) {
      expectError(await devicesOf(merchantId, caller), 403, "FORBIDDEN");
    }
    expectError(await devicesOf("no-such-merchant", await tokens.dispatch()), 404, "NOT_FOUND");
  });
});

describe("DELETE /api/merchants/:merchantId/devices/:deviceId", () => {
  it("closes the device's sockets at once and refuses its tokens everywhere; other screens carry on", async () => {
    const { merchantId, staff } = await setupMerchant();
    const grill = await pairDevice(merchantId, "Grill");
    const pass = await pairDevice(merchantId, "Pass");
    const grillSocket = await openMerchantSocket(merchantId, grill.token);
    const grillSocket2 = await openMerchantSocket(merchantId, grill.token);
    const passSocket = await openMerchantSocket(merchantId, pass.token);
    const staffSocket = await openMerchantSocket(merchantId, staff);

    const res = await revoke(merchantId, grill.device.id, await tokens.dispatch());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.device).toMatchObject({ id: grill.device.id, name: "Grill", revokedAt: expect.any(String) });

    for (const s of [grillSocket, grillSocket2]) {
      const closed = await s.waitClosed(2_000);
      expect(closed.code).toBe(CLOSE_REVOKED);
    }
    // REST, socket upgrades (header and ?token=), refresh: all 401, at once.
    expectError(await board(merchantId, grill.token), 401, "UNAUTHORIZED", "REST");
    for (const opts of [{ token: grill.token }, { query: { token: grill.token } }]) {
      const { socket, response } = await connect(`/ws/merchant/${merchantId}/orders`, opts);
      expect(socket).toBeNull();
      expect(response.status).toBe(401);
    }
    expectError(await refresh(grill.refreshToken), 401, "UNAUTHORIZED", "refresh");

    // The others never noticed: still open, still live, still allowed.
    const order = await placeOrder(merchantId);
    for (const s of [passSocket, staffSocket]) {
      await s.next((e) => e.event === "ORDER_CREATED" && e.payload.order.id === order.id);
      expect(s.closed).toBeNull();
    }
    expect((await board(merchantId, pass.token)).status).toBe(200);
    const listed = await devicesOf(merchantId, staff);
    const byId = Object.fromEntries(listed.body.devices.map((d: { id: string }) => [d.id, d]));
    expect(byId[grill.device.id].revokedAt).toBe(res.body.device.revokedAt);
    expect(byId[pass.device.id].revokedAt).toBeUndefined();
    // Revoking again changes nothing.
    const again = await revoke(merchantId, grill.device.id, await token("platform", "p-1"));
    expect(again.body.device.revokedAt).toBe(res.body.device.revokedAt);
    for (const s of [passSocket, staffSocket]) s.close();
  });

  it("reaches sockets of a hibernated room (identity kept with the socket, not in memory)", async () => {
    const { merchantId } = await setupMerchant();
    const grill = await pairDevice(merchantId);
    const screen = await openMerchantSocket(merchantId, grill.token);
    await evictDurableObject(merchantStub(merchantId));
    expect((await revoke(merchantId, grill.device.id, await tokens.dispatch())).status).toBe(200);
    expect((await screen.waitClosed(2_000)).code).toBe(CLOSE_REVOKED);
  });

  it("the room itself refuses a revoked device's upgrade (a revocation racing the Worker's check)", async () => {
    const { merchantId } = await setupMerchant();
    const grill = await pairDevice(merchantId);
    await revoke(merchantId, grill.device.id, await tokens.dispatch());
    const identity = { role: "merchant", sub: grill.device.id, merchantId, device: true };
    const res = await merchantStub(merchantId).fetch(
      new Request(`${BASE}/ws/merchant/${merchantId}/orders`, {
        headers: { Upgrade: "websocket", [IDENTITY_HEADER]: JSON.stringify(identity) },
      }),
    );
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });

  it("is for dispatch and a platform only; an unknown device is 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const grill = await pairDevice(merchantId);
    for (const caller of [staff, grill.token, await tokens.customer(), await tokens.driver()]) {
      expectError(await revoke(merchantId, grill.device.id, caller), 403, "FORBIDDEN");
    }
    expectError(await revoke(merchantId, "dev-nope", await tokens.dispatch()), 404, "NOT_FOUND");
    const other = await setupMerchant();
    expectError(await revoke(other.merchantId, grill.device.id, await tokens.dispatch()), 404, "NOT_FOUND");
    expect((await board(merchantId, grill.token)).status).toBe(200);
  });

  it("a screen follows its merchant's stream: order-room sockets are refused for devices (they could not be closed)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const grill = await pairDevice(merchantId);
    const order = await placeOrder(merchantId);
    const { socket, response } = await connect(`/ws/order/${order.id}`, { token: grill.token });
    expect(socket).toBeNull();
    expect(response.status).toBe(403);
    // Staff tokens keep the contract's access.
    (await openOrderSocket(order.id, staff)).close();
  });
});
