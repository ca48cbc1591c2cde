/**
 * Tokens in the browser: minted by the dev endpoint, issued to a paired screen, brought by a
 * tracking link or pasted; kept in localStorage, and read back (claims checked with the
 * contract's schema — the server verifies the signature). A paired screen also keeps its
 * refresh token here: it renews itself (device-session.ts) with nobody typing.
 */
import { TokenClaimsSchema, type TokenClaims } from "../../schema/index.ts";

export interface Session {
  /** Replaced in place when a paired screen renews it: whoever holds the session reads the new one. */
  token: string;
  claims: TokenClaims;
  /** A display name (staff, screen or customer), when there is one. */
  name?: string;
  /** Set on a paired screen (POST /api/pair). */
  device?: DeviceCredential;
}

export interface DeviceCredential {
  id: string;
  refreshToken: string;
  /** The Idempotency-Key of a renewal whose answer has not arrived yet (sent again as it was). */
  pendingKey?: string;
}

/** Decodes a JWT's claims without verifying it; null if it is not a well-formed token. */
export function readClaims(token: string): TokenClaims | null {
  const claims = TokenClaimsSchema.safeParse(tokenPayload(token));
  return claims.success ? claims.data : null;
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
    const stored = JSON.parse(raw) as { token?: unknown; name?: unknown; device?: unknown };
    if (typeof stored.token !== "string") return null;
    const device = deviceOf(stored.device);
    const claims = kind === "customer" ? linkClaims(stored.token) : readClaims(stored.token);
    // A paired screen's expired token is no reason to sign out: it renews it first.
    if (!claims || (isExpired(claims, nowMs) && !device)) return null;
    return {
      token: stored.token,
      claims,
      ...(typeof stored.name === "string" ? { name: stored.name } : {}),
      ...(device ? { device } : {}),
    };
  } catch {
    return null;
  }
}

function deviceOf(raw: unknown): DeviceCredential | null {
  if (typeof raw !== "object" || raw === null) return null;
  const { id, refreshToken, pendingKey } = raw as Record<string, unknown>;
  if (typeof id !== "string" || typeof refreshToken !== "string") return null;
  return { id, refreshToken, ...(typeof pendingKey === "string" ? { pendingKey } : {}) };
}

export function saveSession(kind: SessionKind, session: Session): void {
  localStorage.setItem(
    storageKey(kind),
    JSON.stringify({ token: session.token, name: session.name, device: session.device }),
  );
}

export function clearSession(kind: SessionKind): void {
  localStorage.removeItem(storageKey(kind));
}

/**
 * The claims of a token a customer app hands the tracking page (`/track/<id>#token=…`). A
 * platform's own token may name its claims otherwise (AUTH_CLAIM_* on the server): the page
 * then keeps it as it is — only its expiry matters here; the server decides what it may read.
 */
export function linkClaims(token: string): TokenClaims | null {
  const claims = readClaims(token);
  if (claims) return claims;
  const payload = tokenPayload(token);
  if (!payload || typeof payload.exp !== "number") return null;
  return { role: "customer", sub: "customer", exp: payload.exp };
}

/** A JWT's payload, decoded without verifying; null if it is not a well-formed token. */
export function tokenPayload(token: string): Record<string, unknown> | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), "=")), (c) => c.charCodeAt(0)),
    );
    const payload: unknown = JSON.parse(json);
    return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
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
