/**
 * One webhook subscription as a receiver of one merchant room ("webhook:<id>"): its own cursor,
 * so a dead endpoint delays nothing else — not another subscription, not the order rooms, not D1.
 *
 * Events go one at a time in seq order (so in order per order) and the cursor moves past each one
 * the endpoint took: at least once, and a retry never repeats what was acknowledged. A failure
 * backs off (up to 10 min between tries) and is retried for 24 h from its first failure; then the
 * event is given up on (parked, reported `failing`) and the subscription is failing at this
 * merchant: each later event gets one attempt, until one goes through again. Giving up is what
 * keeps a dead endpoint from holding the room's log forever; its owner can redeliver since a seq.
 */
import type { StoredEvent } from "../event-log.ts";
import type { WebhookTarget } from "../../webhooks/http-target.ts";
import { type WebhookMessage, webhookHeaders, webhookMessage } from "../../webhooks/signing.ts";
import type { DeliveryReport, RoomSubscription } from "../webhooks/protocol.ts";
import type { DeliveryReports } from "./delivery-reports.ts";
import { type Delivered, errorMessage, PartialDelivery, type Receiver } from "./receiver.ts";
import type { WebhookStates } from "./webhook-states.ts";

/** Retries of one event last at least this long (CONTRACT.md), counted from its first failure. */
export const WEBHOOK_RETRY_MS = 24 * 60 * 60 * 1000;
/** An endpoint that has not answered by then has failed this attempt. */
export const WEBHOOK_TIMEOUT_MS = 5_000;

export const webhookReceiverName = (subscriptionId: string) => `webhook:${subscriptionId}`;

/** What a subscription's receiver needs from the room. */
export interface WebhookContext {
  merchantId(): string | null;
  /** The subscription as the registry has it (refreshed when the cache is stale), or null if it is gone. */
  subscription(id: string): Promise<RoomSubscription | null>;
  target(): WebhookTarget;
  clock(): number;
  states: WebhookStates;
  reports: DeliveryReports;
  park(receiver: string, event: StoredEvent, error: string, nowMs: number): void;
}

interface Attempt {
  ok: boolean;
  statusCode?: number;
  error?: string;
  latencyMs: number;
}

export class WebhookReceiver implements Receiver {
  readonly name: string;
  /** Events read per pass; each is its own POST. */
  readonly batch = 20;
  readonly minIntervalMs = 0;
  readonly maxCallsPerFlush = 100;
  readonly parksPoison = false;
  /** An endpoint that is down is asked again at most every 10 minutes (≈ 150 tries in 24 h). */
  readonly backoffCapMs = 10 * 60 * 1000;

  constructor(
    private readonly ctx: WebhookContext,
    readonly subscriptionId: string,
  ) {
    this.name = webhookReceiverName(subscriptionId);
  }

  failingSince(): number | null {
    return this.ctx.states.get(this.subscriptionId)?.failingSinceMs ?? null;
  }

  async deliver(events: StoredEvent[]): Promise<Delivered> {
    const merchantId = this.ctx.merchantId();
    const sub = await this.ctx.subscription(this.subscriptionId);
    if (!merchantId || !sub) throw new Error("the subscription is not known to the webhook registry");
    let calls = 0;
    let through: number | null = null;
    try {
      for (const event of events) {
        const message = webhookMessage(merchantId, event);
        if (sub.events === null || sub.events.includes(message.type)) {
          calls++;
          const failure = await this.send(sub, merchantId, event, message);
          if (failure) throw new PartialDelivery(through, failure);
        }
        through = event.seq;
      }
    } finally {
      void this.ctx.reports.flush();
    }
    return { calls };
  }

  /** One attempt; null if the event is done with (delivered or given up on), else the error. */
  private async send(
    sub: RoomSubscription,
    merchantId: string,
    event: StoredEvent,
    message: WebhookMessage,
  ): Promise<Error | null> {
    const atMs = this.ctx.clock();
    const attempt = await this.attempt(sub, message, atMs);
    const report = (outcome: DeliveryReport["outcome"]) =>
      this.ctx.reports.add({
        subscriptionId: sub.id,
        messageId: message.id,
        merchantId,
        seq: event.seq,
        event: message.type,
        orderId: message.orderId,
        outcome,
        ...(attempt.statusCode !== undefined ? { statusCode: attempt.statusCode } : {}),
        ...(attempt.error !== undefined ? { error: attempt.error } : {}),
        attemptAtMs: atMs,
        latencyMs: attempt.latencyMs,
      });
    const states = this.ctx.states;
    if (attempt.ok) {
      states.delivered(sub.id);
      report("delivered");
      return null;
    }
    const failing = states.get(sub.id)?.failingSinceMs ?? null;
    if (failing === null && atMs - states.failedAt(sub.id, event.seq, atMs) < WEBHOOK_RETRY_MS) {
      report("pending");
      return new Error(attempt.error);
    }
    states.markFailing(sub.id, atMs);
    this.ctx.park(this.name, event, `given up: ${attempt.error}`, atMs);
    report("failing");
    return null;
  }

  /** POSTs the message signed with every secret that signs now; never throws. */
  private async attempt(sub: RoomSubscription, message: WebhookMessage, atMs: number): Promise<Attempt> {
    const started = Date.now();
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`));
      }, WEBHOOK_TIMEOUT_MS);
    });
    try {
      const headers = webhookHeaders(sub.secrets, message, Math.floor(atMs / 1000));
      const post = this.ctx.target()({ url: sub.url, headers, body: message.body, signal: controller.signal });
      const res = await Promise.race([post, timeout]);
      const latencyMs = Date.now() - started;
      if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status, latencyMs };
      const redirect = res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : "";
      return { ok: false, statusCode: res.status, error: `HTTP ${res.status}${redirect}`, latencyMs };
    } catch (err) {
      return { ok: false, error: errorMessage(err), latencyMs: Date.now() - started };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
