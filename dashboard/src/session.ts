/**
 * Tokens in the browser: minted by the dev endpoint or pasted, kept in localStorage, and read
 * back (claims checked with the contract's schema — the server verifies the signature).
 */
import { TokenClaimsSchema, type TokenClaims } from "../../schema/index.ts";

export interface Session {
  token: string;
  claims: TokenClaims;
  /** A display name (staff or customer), when the user typed one. */
  name?: string;
}

/** Decodes a JWT's claims without verifying it; null if it is not a well-formed token. */
export function readClaims(token: string): TokenClaims | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), "=")), (c) => c.charCodeAt(0)),
    );
    const claims = TokenClaimsSchema.safeParse(JSON.parse(json));
    return claims.success ? claims.data : null;
  } catch {
    return null;
  }
}

export function isExpired(claims: TokenClaims, nowMs: number): boolean {
  return claims.exp * 1000 <= nowMs + 30_000;
}

/** Staff names are free text; a token's `sub` must be an id. */
export function idFromName(name: string): string {
  const slug = name
    .trim()
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return slug || "staff";
}

export type SessionKind = "kitchen" | "customer";

const storageKey = (kind: SessionKind) => `ticketRail.${kind}`;

export function loadSession(kind: SessionKind, nowMs: number): Session | null {
  try {
    const raw = localStorage.getItem(storageKey(kind));
    if (!raw) return null;
    const stored = JSON.parse(raw) as { token?: unknown; name?: unknown };
    if (typeof stored.token !== "string") return null;
    const claims = readClaims(stored.token);
    if (!claims || isExpired(claims, nowMs)) return null;
    return { token: stored.token, claims, ...(typeof stored.name === "string" ? { name: stored.name } : {}) };
  } catch {
    return null;
  }
}

export function saveSession(kind: SessionKind, session: Session): void {
  localStorage.setItem(storageKey(kind), JSON.stringify({ token: session.token, name: session.name }));
}

export function clearSession(kind: SessionKind): void {
  localStorage.removeItem(storageKey(kind));
}

/**
 * Whether the server now refuses this kitchen session (401/403/404 on one small read): asked when
 * the socket keeps failing, to tell an expired or revoked sign-in from a network that is down.
 */
export async function kitchenRefused(session: Session): Promise<boolean> {
  const merchantId = session.claims.merchantId ?? "";
  try {
    const res = await fetch(`/api/merchants/${encodeURIComponent(merchantId)}/orders?limit=1`, {
      headers: { Authorization: `Bearer ${session.token}` },
    });
    return res.status === 401 || res.status === 403 || res.status === 404;
  } catch {
    return false; // Network down: the connection status already says so.
  }
}
