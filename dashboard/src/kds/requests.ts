/**
 * Requests to the merchant room and their answers, with no DOM and no socket: what is in flight
 * (by requestId), which ACK / BULK_RESULT / ERROR settles which request, and which never got an
 * answer — not sent, timed out, or lost with the connection. An unanswered request is reported,
 * never resent: the stream says what really happened, and the cook decides again on a live board
 * (a stale bump replayed later is a kitchen accident).
 */
import type { MerchantServerEnvelope } from "../../../schema/index.ts";

export type Reply = Extract<MerchantServerEnvelope, { event: "ACK" | "BULK_RESULT" | "ERROR" }>;

/** A request without an answer this long is reported as unknown. */
export const REPLY_TIMEOUT_MS = 10_000;

/** What the tracker needs of a request: the tickets it is about and what they show meanwhile. */
export interface Trackable {
  readonly orderIds: readonly string[];
  readonly pending: string;
}

/** Why a request has no answer and never will. */
export type Unanswered = "not-sent" | "timeout" | "link-lost";

export type Outcome<R> = { request: R; reply: Reply } | { request: R; unanswered: Unanswered };

export function isReply(env: MerchantServerEnvelope): env is Reply {
  return env.event === "ACK" || env.event === "BULK_RESULT" || env.event === "ERROR";
}

export class RequestTracker<R extends Trackable> {
  private readonly inFlight = new Map<string, { request: R; deadline: number }>();

  constructor(
    private readonly timeoutMs = REPLY_TIMEOUT_MS,
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  /** Starts tracking a request about to be sent; returns the requestId to send it with. */
  start(request: R, now: number): string {
    const requestId = this.newId();
    this.inFlight.set(requestId, { request, deadline: now + this.timeoutMs });
    return requestId;
  }

  /** The outcome of the request this reply answers; undefined when it answers none of ours. */
  settle(reply: Reply): Outcome<R> | undefined {
    const entry = reply.requestId === undefined ? undefined : this.take(reply.requestId);
    return entry && { request: entry.request, reply };
  }

  /** The request could not go out (the socket refused it). */
  notSent(requestId: string): Outcome<R> | undefined {
    const entry = this.take(requestId);
    return entry && { request: entry.request, unanswered: "not-sent" };
  }

  /** Requests whose answer is overdue at `now`. */
  expire(now: number): Outcome<R>[] {
    const overdue = [...this.inFlight].filter(([, e]) => e.deadline <= now).map(([id]) => id);
    return overdue.flatMap((id) => {
      const entry = this.take(id);
      return entry ? [{ request: entry.request, unanswered: "timeout" as const }] : [];
    });
  }

  /** The connection went down: no answer will come to anything in flight. */
  abandonAll(): Outcome<R>[] {
    const all = [...this.inFlight.values()].map((e) => ({ request: e.request, unanswered: "link-lost" as const }));
    this.inFlight.clear();
    return all;
  }

  isPending(orderId: string): boolean {
    return [...this.inFlight.values()].some((e) => e.request.orderIds.includes(orderId));
  }

  /** What each ticket with a request in flight shows (the latest request's words). */
  pendingLabels(): Map<string, string> {
    const labels = new Map<string, string>();
    for (const { request } of this.inFlight.values())
      for (const id of request.orderIds) labels.set(id, request.pending);
    return labels;
  }

  /** Every request in flight (oldest first). */
  inFlightRequests(): R[] {
    return [...this.inFlight.values()].map((e) => e.request);
  }

  get size(): number {
    return this.inFlight.size;
  }

  private take(requestId: string): { request: R; deadline: number } | undefined {
    const entry = this.inFlight.get(requestId);
    this.inFlight.delete(requestId);
    return entry;
  }
}
