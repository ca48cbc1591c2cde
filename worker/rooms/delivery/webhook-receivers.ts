/**
 * The webhook subscriptions that cover one merchant, as receivers of its room. The room learns
 * them from the WebhookRegistry and caches the answer for SUBSCRIPTIONS_TTL_MS (so the registry
 * sees one read per busy room per TTL, and an idle room none); it is asked beside each delivery
 * flush, never before one, so a slow registry delays no receiver that is not a webhook.
 *
 * A new subscription starts at the first event committed after it was created: that is the seq
 * the room works out from its log (which keeps at least 24 h), however late it learns of it. A
 * removed one loses its receiver and cursor. Redelivery moves a cursor back within what the log
 * still keeps.
 */
import { errorField, log } from "../../log.ts";
import type { EventLog } from "../event-log.ts";
import { notFound, type Result, refused } from "../merchant/writer.ts";
import type { WebhookTarget } from "../../webhooks/http-target.ts";
import type { DeliveryReport, RoomSubscription } from "../webhooks/protocol.ts";
import type { Delivery } from "./delivery.ts";
import { DeliveryReports } from "./delivery-reports.ts";
import type { ReceiverSource } from "./receiver.ts";
import { type WebhookContext, WebhookReceiver, webhookReceiverName } from "./webhook-receiver.ts";
import { WebhookStates } from "./webhook-states.ts";

/** How long a room trusts what the registry told it (a new subscription waits at most this). */
export const SUBSCRIPTIONS_TTL_MS = 10_000;
/** A registry call that takes longer has failed (the room keeps what it knew). */
const REGISTRY_TIMEOUT_MS = 3_000;

/** The registry as a room calls it (the RPC stub, or a test's stand-in). */
export interface RegistryApi {
  subscriptionsFor(merchantId: string): Promise<RoomSubscription[]>;
  record(reports: DeliveryReport[]): Promise<void>;
}

export interface WebhookDeps {
  storage: DurableObjectStorage;
  log: EventLog;
  delivery: Delivery;
  clock: () => number;
  merchantId: () => string | null;
  registry: () => RegistryApi;
  target: () => WebhookTarget;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

export class WebhookReceivers implements ReceiverSource {
  private cache: Map<string, RoomSubscription> | null = null;
  /** Wall-clock time of the last registry answer (a cache's age is not the room's business clock). */
  private fetchedAtMs = 0;
  /** The last registry read, answered or not (wall clock), and the log's newest seq then. */
  private askedAtMs = 0;
  private seqWhenAsked = 0;
  private refreshing: Promise<boolean> | null = null;
  private readonly states: WebhookStates;
  private readonly context: WebhookContext;

  constructor(private readonly deps: WebhookDeps) {
    this.states = new WebhookStates(deps.storage);
    const reports = new DeliveryReports((batch) =>
      withTimeout(deps.registry().record(batch), REGISTRY_TIMEOUT_MS, "the webhook registry"),
    );
    this.context = {
      merchantId: deps.merchantId,
      subscription: (id) => this.subscription(id),
      target: deps.target,
      clock: deps.clock,
      states: this.states,
      reports,
      park: (receiver, event, error, nowMs) => deps.delivery.park(receiver, event, error, nowMs),
    };
    // Known subscriptions are receivers from the start: their cursors hold the log, ops shows them.
    for (const id of this.states.ids()) this.addReceiver(id, this.states.get(id)!.createdMs);
  }

  async sync(force: boolean): Promise<boolean> {
    if (!force && this.fresh()) return false;
    try {
      return await this.refresh();
    } catch (err) {
      log("warn", "webhook subscriptions not refreshed", { error: errorField(err) });
      return false;
    }
  }

  /** For a receiver about to deliver: its subscription now (a stale cache beats none). */
  private async subscription(id: string): Promise<RoomSubscription | null> {
    if (!this.fresh()) {
      try {
        await this.refresh();
      } catch (err) {
        if (!this.cache) throw err;
      }
    }
    return this.cache?.get(id) ?? null;
  }

  /**
   * Redelivers every event after `sinceSeq` to the subscription (its owner asked): its cursor here
   * goes back (or forth), and its retries and failing start afresh.
   */
  async redeliver(subscriptionId: string, sinceSeq: number): Promise<Result<{ sinceSeq: number }>> {
    await this.sync(true);
    const name = webhookReceiverName(subscriptionId);
    if (!this.deps.delivery.has(name)) return notFound("webhook subscription of this merchant");
    const { log } = this.deps;
    if (sinceSeq > log.seq) return refused("BAD_REQUEST", `sinceSeq is after the merchant's newest event (${log.seq})`);
    const oldest = log.oldest() ?? log.seq + 1;
    if (sinceSeq < oldest - 1) return refused("CONFLICT", `events before seq ${oldest} are no longer kept`);
    this.states.clear(subscriptionId);
    this.deps.delivery.reset(name, sinceSeq);
    return { ok: true, value: { sinceSeq } };
  }

  private fresh(): boolean {
    return this.cache !== null && Math.abs(Date.now() - this.fetchedAtMs) < SUBSCRIPTIONS_TTL_MS;
  }

  /** One registry read at a time; callers meanwhile share it. True if a receiver was added. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * When the room should ask the registry again (room clock), or null: a subscription created
   * since the last read may cover events committed since, and with no later change to start a
   * flush they would wait for whatever woke the room next. So a room that committed since it last
   * asked asks again when its cache expires — "within SUBSCRIPTIONS_TTL_MS" holds for them too.
   */
  recheckAtMs(): number | null {
    if (this.deps.merchantId() === null || this.deps.log.seq <= this.seqWhenAsked) return null;
    return this.deps.clock() + Math.max(0, this.askedAtMs + SUBSCRIPTIONS_TTL_MS - Date.now());
  }

  private async load(): Promise<boolean> {
    const merchantId = this.deps.merchantId();
    if (!merchantId) return false;
    // Set before the read, answered or not: a failing registry is asked again after the TTL,
    // not in a loop.
    this.askedAtMs = Date.now();
    this.seqWhenAsked = this.deps.log.seq;
    const subs = await withTimeout(
      this.deps.registry().subscriptionsFor(merchantId),
      REGISTRY_TIMEOUT_MS,
      "the webhook registry",
    );
    this.cache = new Map(subs.map((s) => [s.id, s]));
    this.fetchedAtMs = Date.now();
    let added = false;
    for (const s of subs) {
      if (this.deps.delivery.has(webhookReceiverName(s.id))) continue;
      this.deps.storage.transactionSync(() => {
        this.states.add(s.id, s.createdAtMs);
        this.addReceiver(s.id, s.createdAtMs);
      });
      added = true;
    }
    for (const id of this.states.ids()) {
      if (this.cache.has(id)) continue;
      this.deps.storage.transactionSync(() => {
        this.deps.delivery.remove(webhookReceiverName(id));
        this.states.remove(id);
      });
    }
    return added;
  }

  /** Its stored cursor if it has one, else just before the first event committed after `createdMs`. */
  private addReceiver(id: string, createdMs: number): void {
    this.deps.delivery.add(new WebhookReceiver(this.context, id), this.deps.log.seqBefore(createdMs));
  }
}
