/**
 * A platform identity provider made inside the test: RS256 and ES256 key pairs generated with
 * WebCrypto, a JWKS document served by a fetcher the Worker is given (no network), and tokens
 * signed with those keys. The issuer and audience match vitest.config.ts's bindings.
 */
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { type JwksFetcher, useJwksFetcher } from "../auth/jwks.ts";

export const ISSUER = (env as unknown as { AUTH_ISSUER: string }).AUTH_ISSUER;
export const AUDIENCE = (env as unknown as { AUTH_AUDIENCE: string }).AUTH_AUDIENCE;
export const JWKS_URL = (env as unknown as { AUTH_JWKS_URL: string }).AUTH_JWKS_URL;

export type Alg = "RS256" | "ES256";

export interface TestKey {
  kid: string;
  alg: Alg;
  privateJwk: JsonWebKey & { alg: Alg; kid: string };
  publicJwk: JsonWebKey & { kid: string };
  /** The public key as PEM (SPKI): what an attacker would try as an HS256 secret. */
  publicPem: string;
}

export async function makeKey(alg: Alg, kid = `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`) {
  const params =
    alg === "RS256"
      ? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
      : { name: "ECDSA", namedCurve: "P-256" };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
  const b64 = btoa(String.fromCharCode(...new Uint8Array(spki)));
  const publicPem = `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----`;
  return {
    kid,
    alg,
    privateJwk: { ...privateJwk, alg, kid },
    publicJwk: { ...publicJwk, kid, alg, use: "sig" } as JsonWebKey & { kid: string },
    publicPem,
  } satisfies TestKey;
}

/** The provider's JWKS endpoint, served in the test: swap keys, make it fail, count fetches. */
export class TestProvider {
  keys: TestKey[] = [];
  fetches = 0;
  failing = false;

  readonly fetcher: JwksFetcher = async (url) => {
    this.fetches++;
    if (url !== JWKS_URL) return new Response("not found", { status: 404 });
    if (this.failing) return new Response("down", { status: 503 });
    return Response.json({ keys: this.keys.map((k) => k.publicJwk) });
  };

  /** Serves this provider to the Worker (and forgets every cached key set). */
  install(): this {
    useJwksFetcher(this.fetcher);
    return this;
  }
}

const now = () => Math.floor(Date.now() / 1000);

/** A token as the provider would issue it: right issuer and audience, 10 minutes, unless overridden. */
export function providerToken(key: TestKey, claims: Record<string, unknown>): Promise<string> {
  return sign({ iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, ...claims }, key.privateJwk);
}

export { now as nowSeconds };
