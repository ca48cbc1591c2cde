/**
 * Guessing pairing codes is rate limited (CONTRACT.md Additions v2: POST /api/pair "rate
 * limited"): wrong codes are counted per client address (an IPv6 /64 as one) and globally; past
 * either limit every attempt is 429 with Retry-After — a right code too, or the lockout would not
 * stop a guesser — until the window ends. The counts are in storage: an eviction keeps them.
 * Each test runs the PairingCodes clock in its own hour so windows never overlap.
 */
import { evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CLIENT_FAILURES, DEFAULT_GLOBAL_FAILURES } from "../rooms/pairing-codes.ts";
import { expectError } from "./support/assertions.ts";
import { newCode, pair, pairingCodesStub, shiftPairingClock } from "./device-support.ts";
import { setupMerchant } from "./support/fixtures.ts";

let hour = 0;
let offset = 0;
beforeEach(async () => {
  offset = ++hour * 3_600_000;
  await shiftPairingClock(offset);
});

const wrong = (i: number) => `WRNG-${String(i).padStart(4, "2").replace(/[01]/g, "2")}`;

describe("wrong codes from one client", () => {
  it(`after ${DEFAULT_CLIENT_FAILURES.limit} in a window: 429 for that client, even with a right code, until the window ends`, async () => {
    const { merchantId } = await setupMerchant();
    const code = await newCode(merchantId);
    const guesser = "198.51.100.23";
    for (let i = 0; i < DEFAULT_CLIENT_FAILURES.limit; i++) {
      expectError(await pair(wrong(i), "x", guesser), 401, "UNAUTHORIZED", `guess ${i}`);
    }
    const locked = await pair(code, "x", guesser);
    expectError(locked, 429, "RATE_LIMITED");
    const retryAfter = Number(locked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(DEFAULT_CLIENT_FAILURES.windowMs / 1000);

    // The lockout is kept in storage: evicting the object does not lift it.
    await evictDurableObject(pairingCodesStub());
    await shiftPairingClock(offset);
    expectError(await pair(code, "x", guesser), 429, "RATE_LIMITED", "after eviction");

    // Someone else pairs meanwhile — with that very code: the refusals did not spend it.
    expect((await pair(code, "x", "192.0.2.44")).status).toBe(200);
    await shiftPairingClock(offset + DEFAULT_CLIENT_FAILURES.windowMs);
    expect((await pair(await newCode(merchantId), "x", guesser)).status).toBe(200);
  });

  it("counts an IPv6 client by its /64", async () => {
    const { merchantId } = await setupMerchant();
    for (let i = 0; i < DEFAULT_CLIENT_FAILURES.limit; i++) {
      // Every guess from another address of the same /64 network.
      expect((await pair(wrong(i), "x", `2001:db8:aa:bb::${(i + 1).toString(16)}`)).status).toBe(401);
    }
    const code = await newCode(merchantId);
    expectError(await pair(code, "x", "2001:db8:aa:bb:ffff::1"), 429, "RATE_LIMITED", "same /64");
    expect((await pair(code, "x", "2001:db8:aa:bc::1")).status, "another /64").toBe(200);
  });
});

describe("wrong codes from everyone", () => {
  it(`after ${DEFAULT_GLOBAL_FAILURES.limit} in a window, pairing pauses for every client until it ends`, async () => {
    const { merchantId } = await setupMerchant();
    const code = await newCode(merchantId);
    // A guesser spread over many addresses, each under its own limit.
    for (let i = 0; i < DEFAULT_GLOBAL_FAILURES.limit; i++) {
      const ip = `10.${Math.floor(i / 250)}.${i % 250}.9`;
      expect((await pair(wrong(i), "x", ip)).status, `guess ${i}`).toBe(401);
    }
    expectError(await pair(code, "x", "192.0.2.200"), 429, "RATE_LIMITED", "a new client with a right code");
    await shiftPairingClock(offset + DEFAULT_GLOBAL_FAILURES.windowMs);
    expect((await pair(await newCode(merchantId), "x", "192.0.2.200")).status).toBe(200);
  });
});
