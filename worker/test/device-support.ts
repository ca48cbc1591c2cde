/**
 * Pairing-test helpers: create a code as dispatch, pair a screen with it (from a given client
 * address), refresh, and move the PairingCodes singleton's clock.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { PairResponseSchema, PairingCodeResponseSchema } from "../../schema/index.ts";
import type { PairingCodes } from "../rooms/pairing-codes.ts";
import { tokens } from "./support/credentials.ts";
import { api, type ApiResponse } from "./support/http.ts";

export const CODE_PATTERN = /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/;

export async function createCode(merchantId: string, token?: string): Promise<ApiResponse<any>> {
  return api("POST", `/api/merchants/${merchantId}/pairing-codes`, { token: token ?? (await tokens.dispatch()) });
}

/** A fresh code for the merchant (201 asserted). */
export async function newCode(merchantId: string): Promise<string> {
  const res = await createCode(merchantId);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return PairingCodeResponseSchema.parse(res.body).code;
}

export function pair(code: string, deviceName = "Grill screen", ip = "203.0.113.7"): Promise<ApiResponse<any>> {
  return api("POST", "/api/pair", { body: { code, deviceName }, headers: { "cf-connecting-ip": ip } });
}

/** Pairs a new screen at the merchant; returns its token, refresh token and device. */
export async function pairDevice(merchantId: string, deviceName = "Grill screen") {
  const res = await pair(await newCode(merchantId), deviceName);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return PairResponseSchema.parse(res.body);
}

export function refresh(refreshToken: string, idempotencyKey?: string): Promise<ApiResponse<any>> {
  return api("POST", "/api/devices/refresh", {
    body: { refreshToken },
    ...(idempotencyKey ? { headers: { "Idempotency-Key": idempotencyKey } } : {}),
  });
}

export function pairingCodesStub() {
  return env.PAIRING_CODES.get(env.PAIRING_CODES.idFromName("global"));
}

/** Runs the PairingCodes singleton `offsetMs` ahead of real time from now on. */
export async function shiftPairingClock(offsetMs: number): Promise<void> {
  await runInDurableObject(pairingCodesStub(), (codes: PairingCodes) => {
    codes.clock = () => Date.now() + offsetMs;
  });
}

/** The claims of a JWT, decoded without verifying. */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
}
