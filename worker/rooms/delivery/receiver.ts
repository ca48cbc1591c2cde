/**
 * What the merchant room's committed changes are delivered to. The event log is the outbox:
 * each receiver keeps its own cursor into it (Delivery), so each progresses on its own whatever
 * the others' backlog, and reads the log in bounded pieces.
 */
import type { HistoryBatch } from "../../db/projection.ts";
import type { WebhookTarget } from "../../webhooks/http-target.ts";
import type { StoredEvent } from "../event-log.ts";
import type { RelayAck, RelayEnvelope } from "../order-room.ts";

/** Where deliveries go. Tests and dev mode wrap these to make a receiver fail (faulty-targets.ts). */
export interface DeliveryTargets {
  /** Every pending version of one order, oldest first, in one call. */
  orderRoom: (orderId: string, relays: RelayEnvelope[]) => Promise<RelayAck>;
  /** One D1 batch (one transaction). */
  history: (batch: HistoryBatch) => Promise<void>;
  /** One webhook POST (Additions v2); tests serve an endpoint of their own here. */
  webhook: WebhookTarget;
}

export interface Receiver {
  readonly name: string;
  /** Events one pass reads at most (bounded memory and subrequests per pass). */
  readonly batch: number;
  /** While changes keep coming, at most one pass per this many ms (batches D1 writes in a rush). */
  readonly minIntervalMs: number;
  /** Calls one flush may make at most; the rest waits for the next flush (platform subrequest limits). */
  readonly maxCallsPerFlush: number;
  /**
   * Whether a change that fails alone while the receiver takes the ones after it is parked (kept
   * with its error, visible to operators) instead of being retried forever.
   */
  readonly parksPoison: boolean;
  /**
   * Delivers `events` (oldest first); throws if the receiver did not take them. A receiver may
   * take only a prefix now (an order room nobody watches waits, see OrderRoomReceiver): the
   * cursor then moves `through` that seq and the rest is looked at again at `againAtMs`.
   */
  deliver(events: StoredEvent[], nowMs: number, force: boolean): Promise<Delivered>;
  /**
   * While it waits (a pass took only a prefix, and `againAtMs` has not come): whether any of these
   * events, new since that pass, is due now. If none is, the pass is skipped — the ones it
   * already looked at only become due with time (the wait) or with a forced flush — so a receiver
   * holding back a long stretch of the log does not read all of it again at every commit.
   */
  anyDue?(events: StoredEvent[], nowMs: number): boolean;
  /** Work the receiver tracks beside its cursor (an order room's failed relays, settings). */
  side?: SideWork;
  /** Longest wait between two retries (default 30 s); a remote endpoint gets a gentler schedule. */
  readonly backoffCapMs?: number;
  /** Since when (room clock) the receiver has been giving up on changes, for operators; null if not. */
  failingSince?(): number | null;
}

/**
 * Thrown by `deliver` when the receiver took the events up to `through` (null: none) and then
 * failed: the cursor moves past what was taken, and the failure backs off as usual. A receiver
 * that must take events one at a time (a webhook endpoint) needs it, or a failure in the middle
 * of a piece would deliver the first part again.
 */
export class PartialDelivery extends Error {
  constructor(
    readonly through: number | null,
    readonly reason: unknown,
  ) {
    super(errorMessage(reason));
  }
}

/** Something that adds and removes receivers as they come and go (webhook subscriptions). */
export interface ReceiverSource {
  /** Brings the receivers up to date if that is due; true if it added any. Never throws. */
  sync(force: boolean): Promise<boolean>;
}

export interface Delivered {
  /** Calls made. */
  calls: number;
  /** The cursor may move through this seq (default: the last event given). */
  through?: number;
  /** When to look at the rest again (room clock), if not all was taken. */
  againAtMs?: number;
}

export interface SideWork {
  /** How many items are waiting. */
  pending(): number;
  /** When the next one is due (room clock), or null. */
  dueMs(): number | null;
  /** Does what is due; returns calls made. */
  run(nowMs: number, force: boolean): Promise<number>;
  /** The oldest seq it still needs from the log (or null). */
  oldestSeq(): number | null;
  /** Its oldest waiting item's age and last error, for operators. */
  status(nowMs: number): { oldestAgeMs: number; lastError?: string } | null;
}

/** Retry delay after `attempts` failures: 250 ms doubling to `capMs`. */
export function backoffMs(attempts: number, capMs = 30_000): number {
  return Math.min(capMs, 250 * 2 ** Math.max(0, attempts - 1));
}

export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}
