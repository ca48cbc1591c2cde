/**
 * A paired kitchen screen keeps itself signed in: it renews its short-lived access token before
 * it expires (and whenever the server refuses it), with the refresh token it keeps in
 * localStorage — nobody types anything. The new token replaces the old one in the Session in
 * place, so the next socket (re)connect and REST call use it.
 *
 * Refresh tokens rotate: each is good for one renewal. So that a lost answer does not sign the
 * screen out, a renewal's Idempotency-Key is saved before it is sent and sent again unchanged
 * until an answer arrives (the server answers a repeat with the same refresh token). Tabs of one
 * browser share the token: renewals are serialised with a Web Lock, and a tab adopts what
 * another tab already renewed instead of spending a spent token (which would revoke the screen).
 */
import { ApiError, browserClient, refreshDevice } from "./api.ts";
import { isExpired, loadSession, readClaims, type Session, saveSession, tokenPayload } from "./session.ts";

export type RenewalOutcome = "renewed" | "signed-out" | "unavailable";

export interface DeviceRenewalOptions {
  /** The screen was revoked (or away too long): back to the sign-in, with this message. */
  onSignedOut: (message: string) => void;
}

/**
 * How long before expiry to renew: a fifth of the token's life, at least a minute (half the life
 * for very short tokens). 15 min tokens renew after 12 min; 20 s test tokens after 10 s.
 */
export function renewMarginMs(lifeMs: number): number {
  return Math.max(lifeMs * 0.2, Math.min(60_000, lifeMs * 0.5));
}

const RETRY_MS = [2_000, 5_000, 10_000, 30_000, 60_000];

const SIGNED_OUT: Record<string, string> = {
  revoked: "This screen was removed from the kitchen. Ask for a new pairing code to sign it in again.",
  reused: "This screen's sign-in was used somewhere else, so it was removed. Ask for a new pairing code.",
  expired: "This screen was away too long. Ask for a new pairing code to sign it in again.",
};

export class DeviceRenewal {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private running: Promise<RenewalOutcome> | null = null;
  private stopped = false;

  constructor(
    private readonly session: Session,
    private readonly opts: DeviceRenewalOptions,
  ) {}

  /** Schedules the renewals; renews at once if the token is already (nearly) expired. */
  start(): void {
    const { exp } = this.session.claims;
    this.schedule(Math.max(0, exp * 1000 - renewMarginMs(this.lifeMs()) - Date.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Renews now (one renewal at a time): after a 401, or when the schedule says so. */
  renew(): Promise<RenewalOutcome> {
    this.running ??= this.renewOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async renewOnce(): Promise<RenewalOutcome> {
    const outcome = await withDeviceLock(() => this.exchange());
    if (this.stopped) return outcome;
    if (outcome === "renewed") {
      // Counted from now, not from `exp` by this device's clock: a tablet whose clock is off by
      // more than a token's life must not renew in a loop.
      this.failures = 0;
      this.schedule(this.lifeMs() - renewMarginMs(this.lifeMs()));
    } else if (outcome === "unavailable") {
      // Network or server trouble: the token may still be good for a while; try again soon.
      this.schedule(RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!);
    }
    return outcome;
  }

  private async exchange(): Promise<RenewalOutcome> {
    if (!this.session.device) return "signed-out";
    // Another tab of this browser may have renewed meanwhile: take its tokens.
    const stored = loadSession("kitchen", Date.now());
    if (
      stored?.device?.id === this.session.device.id &&
      stored.device.refreshToken !== this.session.device.refreshToken
    ) {
      this.adopt(stored);
      if (!isExpired(this.session.claims, Date.now())) return "renewed";
    }
    const device = this.session.device;
    const key = device.pendingKey ?? crypto.randomUUID();
    // Saved before it is sent: after a reload mid-renewal the same request goes again.
    this.session.device = { ...device, pendingKey: key };
    saveSession("kitchen", this.session);
    try {
      const renewed = await refreshDevice(browserClient(), device.refreshToken, key);
      const claims = readClaims(renewed.token);
      if (!claims) throw new ApiError(200, "INTERNAL", "the server issued a token this page cannot read");
      this.session.token = renewed.token;
      this.session.claims = claims;
      this.session.device = { id: device.id, refreshToken: renewed.refreshToken };
      saveSession("kitchen", this.session);
      return "renewed";
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.stop();
        this.opts.onSignedOut(SIGNED_OUT[reasonOf(err)] ?? `Signed out: ${err.message}`);
        return "signed-out";
      }
      console.warn(`[ticket-rail] could not renew this screen's sign-in: ${String(err)}`);
      return "unavailable";
    }
  }

  private adopt(stored: Session): void {
    this.session.token = stored.token;
    this.session.claims = stored.claims;
    if (stored.device) this.session.device = stored.device;
  }

  /** The access token's lifetime (exp − iat), 15 min if it does not say. */
  private lifeMs(): number {
    const iat = tokenPayload(this.session.token)?.iat;
    const life = typeof iat === "number" ? (this.session.claims.exp - iat) * 1000 : 0;
    return life > 0 ? life : 15 * 60_000;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), delayMs);
  }
}

function reasonOf(err: ApiError): string {
  const reason = (err.details as { reason?: unknown } | undefined)?.reason;
  return typeof reason === "string" ? reason : "revoked";
}

/** Runs `fn` holding this browser's device lock (Web Locks), or directly where there are none. */
function withDeviceLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request("ticketRail.deviceRenewal", fn) as Promise<T>) : fn();
}
