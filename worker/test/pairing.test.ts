/**
 * Kitchen screens pair with a code (CONTRACT.md Additions v2): who may create codes, what a code
 * looks like, that it pairs exactly one screen and then never again, that it expires, and that
 * the device token it yields is a `merchant` token of that merchant on REST and on the socket.
 */
import { describe, expect, it } from "vitest";
import { PairResponseSchema } from "../../schema/index.ts";
import { CODE_TTL_MS, MAX_LIVE_CODES_PER_MERCHANT } from "../rooms/pairing-codes.ts";
import { DEFAULT_DEVICE_TOKEN_TTL_SECONDS } from "../auth/device-credentials.ts";
import { expectError } from "./support/assertions.ts";
import { CODE_PATTERN, claimsOf, createCode, newCode, pair, shiftPairingClock } from "./device-support.ts";
import { token, tokens } from "./support/credentials.ts";
import { placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, uniqueId } from "./support/http.ts";
import { openMerchantSocket } from "./support/sockets.ts";

describe("POST /api/merchants/:merchantId/pairing-codes", () => {
  it("dispatch and a platform get a short single-use code that expires within 10 minutes", async () => {
    const { merchantId } = await setupMerchant();
    for (const caller of [await tokens.dispatch(), await token("platform", "platform-1")]) {
      const before = Date.now();
      const res = await createCode(merchantId, caller);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(["code", "expiresAt"]);
      expect(res.body.code).toMatch(CODE_PATTERN);
      const expires = Date.parse(res.body.expiresAt);
      expect(expires).toBeGreaterThan(before);
      expect(expires).toBeLessThanOrEqual(Date.now() + CODE_TTL_MS);
      expect(CODE_TTL_MS).toBeLessThanOrEqual(10 * 60 * 1000);
    }
  });

  it("nobody else: the merchant's own staff, customers, drivers get 403; no token 401; no merchant 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    for (const caller of [staff, await tokens.customer(), await tokens.driver()]) {
      expectError(await createCode(merchantId, caller), 403, "FORBIDDEN");
    }
    expectError(
      await api("POST", `/api/merchants/${merchantId}/pairing-codes`, {}),
      401,
      "UNAUTHORIZED",
      "without a token",
    );
    expectError(await createCode(uniqueId("nowhere")), 404, "NOT_FOUND");
  });

  it("keeps at most a few unused codes per merchant alive (fewer live codes, fewer to guess)", async () => {
    const { merchantId } = await setupMerchant();
    const codes: string[] = [];
    for (let i = 0; i < MAX_LIVE_CODES_PER_MERCHANT; i++) codes.push(await newCode(merchantId));
    expect(new Set(codes).size).toBe(codes.length);
    expectError(await createCode(merchantId), 429, "RATE_LIMITED");
    // Another merchant is not affected; using a code frees its place.
    expect((await createCode((await setupMerchant()).merchantId)).status).toBe(201);
    expect((await pair(codes[0]!)).status).toBe(200);
    expect((await createCode(merchantId)).status).toBe(201);
  });
});

describe("POST /api/pair", () => {
  it("pairs one screen: a merchant token for that merchant (sub = device id), 15 min, renewable", async () => {
    const { merchantId } = await setupMerchant();
    const code = await newCode(merchantId);
    const res = await pair(code, "Pass screen");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = PairResponseSchema.strict().parse(res.body);
    expect(body.device).toEqual({ id: expect.stringMatching(/^dev-/), merchantId, name: "Pass screen" });
    expect(body.refreshToken).not.toContain(body.token);
    const claims = claimsOf(body.token);
    expect(claims).toMatchObject({ role: "merchant", sub: body.device.id, merchantId, device: true });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(DEFAULT_DEVICE_TOKEN_TTL_SECONDS);

    // It is that merchant's token on REST: reads the board and acts as the kitchen, named in the
    // audit trail by its device id…
    const board = await api("GET", `/api/merchants/${merchantId}/orders`, { token: body.token });
    expect(board.status).toBe(200);
    const order = await placeOrder(merchantId);
    const accepted = await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, {
      token: body.token,
      body: { prepMinutes: 7 },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const trail = await api("GET", `/api/orders/${order.id}/events`, { token: await tokens.dispatch() });
    expect(trail.body.events.at(-1).actor).toEqual({ role: "merchant", id: body.device.id });
    // …and on the merchant's socket.
    const socket = await openMerchantSocket(merchantId, body.token);
    expect(socket.envelopes[0].event).toBe("SNAPSHOT");
    socket.close();
    // Not another merchant's.
    const other = await setupMerchant();
    expectError(await api("GET", `/api/merchants/${other.merchantId}/orders`, { token: body.token }), 403, "FORBIDDEN");
  });

  it("a code pairs once: used, wrong or expired → 401, and none of them pairs anything", async () => {
    const { merchantId } = await setupMerchant();
    const code = await newCode(merchantId);
    expect((await pair(code)).status).toBe(200);
    expectError(await pair(code), 401, "UNAUTHORIZED", "used code");
    expectError(await pair("ZZZZ-ZZZZ"), 401, "UNAUTHORIZED", "wrong code");

    const late = await newCode(merchantId);
    await shiftPairingClock(CODE_TTL_MS + 1_000);
    try {
      expectError(await pair(late), 401, "UNAUTHORIZED", "expired code");
    } finally {
      await shiftPairingClock(0);
    }
    expectError(await pair(late), 401, "UNAUTHORIZED", "expired code, even once the clock is back");
    const list = await api("GET", `/api/merchants/${merchantId}/devices`, { token: await tokens.dispatch() });
    expect(list.body.devices).toHaveLength(1);
  });

  it("takes the code as people type it: lower case, spaces, with or without the dash", async () => {
    const { merchantId } = await setupMerchant();
    const typed = (await newCode(merchantId)).toLowerCase().replace("-", " ");
    expect((await pair(` ${typed} `)).status).toBe(200);
    const bare = (await newCode(merchantId)).replace("-", "");
    expect((await pair(bare)).status).toBe(200);
  });

  it("validates its body (400) and needs no token", async () => {
    const { merchantId } = await setupMerchant();
    const code = await newCode(merchantId);
    for (const body of [{ code }, { deviceName: "x" }, { code, deviceName: "" }, { code: "AB", deviceName: "x" }]) {
      expectError(await api("POST", "/api/pair", { body }), 400, "BAD_REQUEST", JSON.stringify(body));
    }
    // The refusals above spent nothing: the code still pairs.
    expect((await pair(code)).status).toBe(200);
  });
});
