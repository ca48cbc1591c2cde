/**
 * The platform's own identity provider (CONTRACT.md Additions v2): RS256 / ES256 tokens verified
 * against its JWKS — issuer, audience, key id, algorithm and times checked, keys cached, a new kid
 * refetching the set (at most once per cooldown) — and every classic forgery refused. Keys are
 * made in the test; the JWKS is served by the test's own fetcher.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { app } from "../app.ts";
import { COOLDOWN_MS, JwksKeys, jwksKeys, MAX_AGE_MS, useJwksFetcher } from "../auth/jwks.ts";
import { JWKS_URL, makeKey, nowSeconds, providerToken, TestProvider, type TestKey } from "./jwks-support.ts";
import { expectError } from "./support/assertions.ts";
import { b64url } from "./support/credentials.ts";
import { placeOrder, setupMerchant } from "./support/fixtures.ts";
import { BASE, api } from "./support/http.ts";
import { connect } from "./support/sockets.ts";

let provider: TestProvider;
let rsa: TestKey;
let ec: TestKey;

beforeEach(async () => {
  rsa = await makeKey("RS256");
  ec = await makeKey("ES256");
  provider = new TestProvider().install();
  provider.keys = [rsa, ec];
});

afterEach(() => useJwksFetcher(null));

async function readOrder(orderId: string, token: string) {
  return api("GET", `/api/orders/${orderId}`, { token });
}

describe("tokens of the platform's identity provider", () => {
  it("an RS256 customer token and an ES256 dispatch token work like Ticket Rail's own", async () => {
    const { merchantId } = await setupMerchant();
    const customer = await providerToken(rsa, { sub: "cust-idp", role: "customer" });
    const placed = await api("POST", "/api/orders", {
      token: customer,
      body: { merchantId, items: [{ name: "Tea", quantity: 1, unitPriceCents: 200 }] },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body.customerId).toBe("cust-idp");
    expect((await readOrder(placed.body.id, customer)).status).toBe(200);

    const dispatch = await providerToken(ec, { sub: "ops-idp", role: "dispatch" });
    expect((await readOrder(placed.body.id, dispatch)).status).toBe(200);
    // Another customer of the same provider is a valid token for the wrong order: 403, not 401.
    const other = await providerToken(rsa, { sub: "cust-other", role: "customer" });
    expectError(await readOrder(placed.body.id, other), 403, "FORBIDDEN");
  });

  it("a provider's merchant token reaches its merchant's socket", async () => {
    const { merchantId } = await setupMerchant();
    const staff = await providerToken(ec, { sub: "staff-idp", role: "merchant", merchantId });
    const { socket, response } = await connect(`/ws/merchant/${merchantId}/orders`, { query: { token: staff } });
    expect(response.status).toBe(101);
    socket?.close();
  });

  it("fetches the key set once and keeps it; a new kid refetches it, at most once per cooldown", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const cache = jwksKeys(JWKS_URL);
    let offsetMs = 0;
    cache.clock = () => Date.now() + offsetMs;
    const token = await providerToken(rsa, { sub: "ops", role: "dispatch" });
    for (let i = 0; i < 5; i++) expect((await readOrder(order.id, token)).status).toBe(200);
    expect(provider.fetches).toBe(1);

    // The provider rotates: a token signed with a key published after our fetch. Within the
    // cooldown of that fetch it is not looked for (a flood of made-up kids costs nothing)…
    const rotated = await makeKey("RS256");
    provider.keys = [rotated, rsa];
    const fresh = await providerToken(rotated, { sub: "ops", role: "dispatch" });
    expectError(await readOrder(order.id, fresh), 401, "UNAUTHORIZED");
    expect(provider.fetches).toBe(1);
    // …after it, the unknown kid refetches the set once and the token works.
    offsetMs = COOLDOWN_MS + 1_000;
    expect((await readOrder(order.id, fresh)).status).toBe(200);
    expect(provider.fetches).toBe(2);
    for (let i = 0; i < 5; i++) {
      const forged = await providerToken({ ...rsa, privateJwk: { ...rsa.privateJwk, kid: `nope-${i}` } }, {});
      expectError(await readOrder(order.id, forged), 401, "UNAUTHORIZED");
    }
    expect(provider.fetches).toBe(2);

    // A set older than its maximum age is fetched again; a key the provider dropped stops working.
    provider.keys = [rotated];
    offsetMs += MAX_AGE_MS;
    expectError(await readOrder(order.id, token), 401, "UNAUTHORIZED");
    expect(provider.fetches).toBe(3);
    expect((await readOrder(order.id, fresh)).status).toBe(200);
    expect(provider.fetches).toBe(3);
  });

  it("refuses wrong issuer, audience, kid, algorithm, times and claims", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const claims = { sub: "ops", role: "dispatch" };
    const valid = await providerToken(rsa, claims);
    expect((await readOrder(order.id, valid)).status).toBe(200);
    const [h, p] = valid.split(".");
    const stranger = await makeKey("RS256", rsa.kid); // same kid, a key the provider never published
    const ecKidRsaAlg = { ...rsa, privateJwk: { ...rsa.privateJwk, kid: ec.kid } }; // RS256 under the EC key's kid
    const cases: [string, string, RegExp][] = [
      ["wrong issuer", await providerToken(rsa, { ...claims, iss: "https://evil.test/" }), /wrong issuer/],
      ["no issuer", await providerToken(rsa, { ...claims, iss: undefined }), /wrong issuer/],
      ["wrong audience", await providerToken(rsa, { ...claims, aud: "another-app" }), /wrong audience/],
      ["no audience", await providerToken(rsa, { ...claims, aud: undefined }), /wrong audience/],
      ["unknown kid", await providerToken(await makeKey("ES256"), claims), /unknown key id/],
      ["no kid", await providerToken({ ...rsa, privateJwk: { ...rsa.privateJwk, kid: "" } }, claims), /no key id/],
      ["signed by another key under a known kid", await providerToken(stranger, claims), /bad signature/],
      ["key's alg ≠ token's alg", await providerToken(ecKidRsaAlg, claims), /algorithm does not match/],
      ["alg none", `${b64url({ alg: "none", typ: "JWT", kid: rsa.kid })}.${p}.`, /invalid or expired/],
      [
        "HS256 with the public key (PEM) as secret",
        await sign(payloadOf(valid), rsa.publicPem, "HS256"),
        /invalid or expired/,
      ],
      [
        "HS256 with the public JWK (JSON) as secret",
        await sign(payloadOf(valid), JSON.stringify(rsa.publicJwk), "HS256"),
        /invalid or expired/,
      ],
      [
        "RS512 (not accepted)",
        await sign(payloadOf(valid), { ...rsa.privateJwk, alg: "RS512" } as never),
        /invalid or expired/,
      ],
      [
        "header swapped to ES256",
        `${b64url({ alg: "ES256", typ: "JWT", kid: rsa.kid })}.${p}.${valid.split(".")[2]}`,
        /algorithm does not match/,
      ],
      [
        "payload swapped",
        `${h}.${b64url({ ...payloadOf(valid), role: "platform" })}.${valid.split(".")[2]}`,
        /bad signature/,
      ],
      ["expired beyond the skew", await providerToken(rsa, { ...claims, exp: nowSeconds() - 120 }), /expired/],
      [
        "not valid yet beyond the skew",
        await providerToken(rsa, { ...claims, nbf: nowSeconds() + 120 }),
        /not valid yet/,
      ],
      ["no exp", await providerToken(rsa, { ...claims, exp: undefined }), /no expiry/],
      ["unknown role", await providerToken(rsa, { ...claims, role: "admin" }), /claims/],
      ["sub that is not an id", await providerToken(rsa, { ...claims, sub: "auth0|123" }), /claims/],
      ["merchant without merchantId", await providerToken(rsa, { sub: "staff", role: "merchant" }), /claims/],
      ["typ not a JWT", await signWithHeader(rsa, { typ: "dpop+jwt" }, claims), /header not accepted/],
    ];
    for (const [what, token, why] of cases) {
      const res = await readOrder(order.id, token);
      expectError(res, 401, "UNAUTHORIZED", what);
      // Refused for the reason the case is about, not by some other check on the way.
      expect(res.body.error.message, what).toMatch(why);
    }
  });

  it("allows the configured clock skew (60 s by default) either way", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const claims = { sub: "ops", role: "dispatch" };
    const late = await providerToken(rsa, { ...claims, exp: nowSeconds() - 20 });
    const early = await providerToken(ec, { ...claims, nbf: nowSeconds() + 20, iat: nowSeconds() + 20 });
    expect((await readOrder(order.id, late)).status).toBe(200);
    expect((await readOrder(order.id, early)).status).toBe(200);
    const strict = { AUTH_CLOCK_SKEW_SECONDS: "0" };
    expectError(await callApp(strict, `/api/orders/${order.id}`, late), 401, "UNAUTHORIZED");
    expectError(await callApp(strict, `/api/orders/${order.id}`, early), 401, "UNAUTHORIZED");
  });

  it("maps the provider's claim names and role names (AUTH_CLAIM_*, AUTH_ROLE_MAP)", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId, undefined);
    const mapped = {
      AUTH_CLAIM_ROLE: "https://platform.test/role",
      AUTH_CLAIM_SUB: "uid",
      AUTH_ROLE_MAP: "ops=dispatch, eater=customer",
    };
    const token = await providerToken(rsa, { sub: "auth0|x", uid: "ops-7", "https://platform.test/role": "ops" });
    const res = await callApp(mapped, `/api/orders/${order.id}`, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Without the mapping the same token names no role we know.
    expectError(await callApp({}, `/api/orders/${order.id}`, token), 401, "UNAUTHORIZED");
  });

  it("keeps the keys it has while the provider's JWKS endpoint is down", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const token = await providerToken(rsa, { sub: "ops", role: "dispatch" });
    expect((await readOrder(order.id, token)).status).toBe(200);
    provider.failing = true;
    const unknown = await providerToken(await makeKey("RS256"), { sub: "ops", role: "dispatch" });
    expectError(await readOrder(order.id, unknown), 401, "UNAUTHORIZED");
    expect((await readOrder(order.id, token)).status).toBe(200);
  });

  it("without AUTH_JWKS_URL only HS256 tokens work; a JWKS without issuer or audience fails closed", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const token = await providerToken(rsa, { sub: "ops", role: "dispatch" });
    expectError(await callApp({ AUTH_JWKS_URL: "" }, `/api/orders/${order.id}`, token), 401, "UNAUTHORIZED");
    for (const patch of [{ AUTH_ISSUER: "" }, { AUTH_AUDIENCE: undefined }]) {
      const res = await callApp(patch, `/api/orders/${order.id}`, token);
      expectError(res, 500, "INTERNAL");
      expect(JSON.stringify(res.body)).toMatch(/AUTH_ISSUER and AUTH_AUDIENCE/);
    }
  });
});

/** The claims of a token, decoded (base64url). */
function payloadOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
}

/** Calls the app with a changed configuration (the claim mapping, no JWKS, a strict clock). */
async function callApp(patch: Record<string, unknown>, path: string, token: string) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${BASE}${path}`, { headers: { Authorization: `Bearer ${token}` } }),
    { ...env, ...patch } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // asserted by expectErrorShape
  }
  return { status: res.status, body: body as any, headers: res.headers };
}

/** A provider-signed token with extra header fields (hono's sign sets only alg, typ, kid). */
async function signWithHeader(key: TestKey, extra: Record<string, unknown>, claims: Record<string, unknown>) {
  const header = b64url({ alg: key.alg, kid: key.kid, ...extra });
  const payload = b64url({ iss: "https://idp.platform.test/", aud: "ticket-rail", exp: nowSeconds() + 600, ...claims });
  const algorithm =
    key.alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256", namedCurve: "P-256" };
  const importAlg =
    key.alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } : { name: "ECDSA", namedCurve: "P-256" };
  const privateKey = await crypto.subtle.importKey("jwk", key.privateJwk, importAlg, false, ["sign"]);
  const sig = await crypto.subtle.sign(algorithm, privateKey, new TextEncoder().encode(`${header}.${payload}`));
  const s = btoa(String.fromCharCode(...new Uint8Array(sig)))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
  return `${header}.${payload}.${s}`;
}

describe("the key cache (JwksKeys)", () => {
  it("never makes one request wait on another's fetch: a cold burst all succeed, an old set serves while one refreshes", async () => {
    let fetches = 0;
    let release: () => void = () => {};
    let gate: Promise<void> | null = null;
    const keys = new JwksKeys(JWKS_URL, () => async () => {
      fetches++;
      if (gate) await gate;
      return Response.json({ keys: [rsa.publicJwk] });
    });
    let offsetMs = 0;
    keys.clock = () => Date.now() + offsetMs;
    const burst = await Promise.all([1, 2, 3].map(() => keys.keyFor(rsa.kid)));
    expect(burst.map((k) => k?.kid)).toEqual([rsa.kid, rsa.kid, rsa.kid]);
    expect(fetches).toBe(3); // each fetched for itself: none of them waited on another's

    // The set is old: the first request refreshes (held open here), the others use the old set.
    offsetMs = MAX_AGE_MS + 1;
    gate = new Promise((r) => (release = r));
    const refreshing = keys.keyFor(rsa.kid);
    expect((await keys.keyFor(rsa.kid))?.kid).toBe(rsa.kid);
    expect(fetches).toBe(4);
    release();
    expect((await refreshing)?.kid).toBe(rsa.kid);
  });
});
