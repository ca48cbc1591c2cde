/**
 * The signing keys of a platform's identity provider (its JWKS), cached per isolate.
 *
 * Every token of the platform names its key (`kid`). The set is fetched once and kept for
 * MAX_AGE_MS; a `kid` we do not know (the provider rotated its keys) refetches it at once, but at
 * most once per COOLDOWN_MS: a stream of tokens with made-up kids costs the provider one request
 * per cooldown, not one each. If a refetch fails, the keys we have stay in use (an outage of the
 * provider's JWKS endpoint must not sign out every customer and driver).
 */

/** How a JWKS is fetched; tests pass one that answers without any network. */
export type JwksFetcher = (url: string, init: RequestInit) => Promise<Response>;

/** A public key as a JWKS lists it (RFC 7517); what WebCrypto's importKey("jwk") takes. */
export interface PublicJwk extends JsonWebKey {
  kid: string;
  kty: string;
  use?: string;
}

export const MAX_AGE_MS = 10 * 60 * 1000;
export const COOLDOWN_MS = 30 * 1000;
const FETCH_TIMEOUT_MS = 5_000;
/** More keys than any provider publishes: a JWKS that is not one is refused whole. */
const MAX_KEYS = 50;

const defaultFetcher: JwksFetcher = (url, init) => fetch(url, init);
let fetcher: JwksFetcher = defaultFetcher;

/** Replaces how every JWKS is fetched (tests: a fetcher serving keys made in the test). */
export function useJwksFetcher(next: JwksFetcher | null): void {
  fetcher = next ?? defaultFetcher;
  cache.clear();
}

export class JwksKeys {
  private keys = new Map<string, PublicJwk>();
  private fetchedAt: number | null = null;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  /** The cache's clock; tests move it past the cooldown and the maximum age. */
  clock: () => number = () => Date.now();

  constructor(
    readonly url: string,
    private readonly fetchJwks: () => JwksFetcher = () => fetcher,
  ) {}

  /**
   * The key named `kid`, refreshing the set when it is old or does not know the kid. A request
   * never awaits another request's fetch (Workers do not allow waiting across requests): while
   * one request refreshes an old set, the others use the old set; on a cold isolate every request
   * of the first burst fetches for itself, until one has succeeded.
   */
  async keyFor(kid: string): Promise<PublicJwk | null> {
    const now = this.clock();
    const fresh = this.fetchedAt !== null && now - this.fetchedAt < MAX_AGE_MS;
    if (fresh && this.keys.has(kid)) return this.keys.get(kid)!;
    const mayFetch =
      this.fetchedAt === null ? now - this.lastFailureAt >= COOLDOWN_MS : now - this.lastAttemptAt >= COOLDOWN_MS;
    if (mayFetch) await this.load();
    return this.keys.get(kid) ?? null;
  }

  private async load(): Promise<void> {
    this.lastAttemptAt = this.clock();
    try {
      const res = await this.fetchJwks()(this.url, {
        headers: { Accept: "application/json" },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.keys = parseJwks(await res.json());
      this.fetchedAt = this.clock();
    } catch (err) {
      // Keep the keys we have; after the cooldown, the next unknown kid or old set tries again.
      this.lastFailureAt = this.clock();
      console.warn(`[jwks] could not refresh ${this.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The signing keys of a JWKS document, by kid; anything else in it is ignored. */
export function parseJwks(doc: unknown): Map<string, PublicJwk> {
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list) || list.length > MAX_KEYS) throw new Error("not a JWKS document");
  const keys = new Map<string, PublicJwk>();
  for (const raw of list) {
    if (typeof raw !== "object" || raw === null) continue;
    const key = raw as Partial<PublicJwk> & { d?: unknown };
    if (typeof key.kid !== "string" || (key.kty !== "RSA" && key.kty !== "EC")) continue;
    if (key.use !== undefined && key.use !== "sig") continue;
    // A published private key is a broken provider, not a key to verify with.
    if (key.d !== undefined) continue;
    keys.set(key.kid, key as PublicJwk);
  }
  return keys;
}

const cache = new Map<string, JwksKeys>();

/** The isolate's one cache of this JWKS URL. */
export function jwksKeys(url: string): JwksKeys {
  let keys = cache.get(url);
  if (!keys) {
    keys = new JwksKeys(url);
    cache.set(url, keys);
  }
  return keys;
}
