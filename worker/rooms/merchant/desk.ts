/**
 * The merchant room's desk: everything it does that is not the socket edge. Every change goes
 * through perform() (one Operation, one transaction), then out to the screens (a hook the room
 * gives) and to the receivers (delivery/, started once the commit is durable); the one alarm
 * runs what the schedule says is due. The room class only wires sockets and RPC to this.
 */
import { isActiveStatus, type Merchant, type UpsertMerchantBody } from "../../../schema/index.ts";
import type { Principal } from "../../domain/changes.ts";
import { SYSTEM_DEADLINE, SYSTEM_SCHEDULE } from "../../domain/changes.ts";
import { errorField, logger } from "../../log.ts";
import { DEFAULT_REST_LIMIT, parseRateLimit, RateCounter } from "../../rate-limit.ts";
import { CURSOR_WRITE_MS, Delivery } from "../delivery/delivery.ts";
import { HistoryReceiver } from "../delivery/history-receiver.ts";
import { OrderRoomReceiver } from "../delivery/order-room-receiver.ts";
import { type WebhookDeps, WebhookReceivers } from "../delivery/webhook-receivers.ts";
import type { DeliveryTargets } from "../delivery/receiver.ts";
import type { EventLog } from "../event-log.ts";
import { deliveryStatusFrame } from "../frames.ts";
import { ExternalIds } from "./external-ids.ts";
import { IdempotencyStore } from "./idempotency-store.ts";
import { autoPauseRules, SYSTEM_AVAILABILITY } from "./merchant-changes.ts";
import { operationLog } from "./operation-log.ts";
import { type Operation, type OperationValue, runOperation } from "./operations.ts";
import { CUSTOMERS_BEHIND_MS, type DeliveryStatus, deliveryStatusOf } from "./ops.ts";
import { OrderStore } from "./orders.ts";
import { type DueEntry, Schedule } from "./schedule.ts";
import { MerchantSettings, mergeSettings } from "./settings.ts";
import { type CallContext, notFound, type Result, refused, Writer } from "./writer.ts";

const PRUNE_EVERY_MS = 60 * 60 * 1000;
/**
 * If the delivery started after a commit is lost (a crash or eviction before it ends), the alarm
 * retries this soon. The same as the cursors' write interval, so one alarm does both: a busy
 * kitchen's changes share one alarm write per interval instead of two or three per change
 * (issue 15). A lost delivery is rare; it then waits at most this long.
 */
const DELIVERY_BACKSTOP_MS = CURSOR_WRITE_MS;

/** What the desk needs from its room. */
export interface DeskHooks {
  storage: DurableObjectStorage;
  env: Env;
  log: EventLog;
  clock: () => number;
  targets: () => DeliveryTargets;
  /** Sends stored envelopes / one frame to every socket of the room. */
  broadcastEnvelopes: (envelopes: string[]) => void;
  broadcast: (frame: string) => void;
  /** Kitchen screens connected now, not counting `leaving`. */
  screens: (leaving?: WebSocket) => number;
  /** How long a change of an order nobody watches may wait before it is relayed (ms). */
  relayQuietMs: () => number;
  /** The service's webhook subscriptions (Additions v2). */
  webhookRegistry: WebhookDeps["registry"];
}

export class Desk {
  readonly settings: MerchantSettings;
  readonly orders: OrderStore;
  readonly schedule: Schedule;
  readonly writer: Writer;
  readonly delivery: Delivery;
  private readonly relays: OrderRoomReceiver;
  private readonly webhooks: WebhookReceivers;
  private readonly idempotency: IdempotencyStore;
  private readonly restCalls: RateCounter<string>;
  /** Every log line names the room and its merchant. */
  readonly say = logger(() => ({ room: "merchant", merchant: this.settings.get()?.id }));
  private lastPruneMs = 0;
  private deliveryScheduled = false;
  /** What the screens were last told about customers' views (null: nothing yet). */
  private toldBehind: boolean | null = null;

  constructor(private readonly h: DeskHooks) {
    const { storage, log, clock } = h;
    this.settings = new MerchantSettings(storage.sql);
    this.orders = new OrderStore(storage.sql);
    this.schedule = new Schedule(storage, clock);
    this.idempotency = new IdempotencyStore(storage.sql);
    this.restCalls = new RateCounter(parseRateLimit(h.env.REST_RATE_LIMIT, DEFAULT_REST_LIMIT));
    this.delivery = new Delivery(storage, log, clock, this.say);
    this.relays = new OrderRoomReceiver(storage.sql, log, h.targets, this.say, h.relayQuietMs);
    this.delivery.add(this.relays);
    this.delivery.add(new HistoryReceiver(h.targets, this.settings));
    // Webhook subscriptions (Additions v2): one receiver each, learned from the registry.
    this.webhooks = new WebhookReceivers({
      storage,
      log,
      delivery: this.delivery,
      clock,
      merchantId: () => this.settings.get()?.id ?? null,
      registry: h.webhookRegistry,
      target: () => h.targets().webhook,
    });
    this.delivery.addSource(this.webhooks);
    this.writer = new Writer({
      storage,
      log,
      orders: this.orders,
      schedule: this.schedule,
      idempotency: this.idempotency,
      settings: this.settings,
      externalIds: new ExternalIds(storage.sql),
      clock,
    });
  }

  /** Runs one operation for `call`: the one entry of every change. */
  perform(call: CallContext, op: Operation): Result<OperationValue> {
    const started = Date.now();
    const limited = this.rateLimited(call);
    const { result, envelopes } = limited
      ? { result: limited, envelopes: [] }
      : this.writer.execute(call, op, (now) => {
          const merchant = this.settings.get();
          if (!merchant) return notFound("merchant");
          return runOperation({ writer: this.writer, merchant, now }, call, op);
        });
    const line = operationLog(call, op, result, envelopes.length, Date.now() - started);
    this.say(result.ok ? "info" : "warn", "operation", line);
    if (envelopes.length > 0) {
      this.h.broadcastEnvelopes(envelopes);
      this.schedule.ensureBy(this.h.clock() + DELIVERY_BACKSTOP_MS);
      this.deliverSoon();
    }
    return result;
  }

  /** Creates or updates the merchant's settings (no stream event), rate limited and idempotent. */
  upsertMerchant(
    call: CallContext,
    merchantId: string,
    body: UpsertMerchantBody,
  ): Result<{ created: boolean; merchant: Merchant }> {
    const limited = this.rateLimited(call);
    if (limited) return limited;
    const { result } = this.writer.execute(call, { action: "UPSERT_MERCHANT", payload: { merchantId, body } }, () => {
      const before = this.settings.get();
      if (before && before.id !== merchantId) throw new Error(`room of ${before.id} asked to be ${merchantId}`);
      const merchant = mergeSettings(before, merchantId, body);
      this.settings.put(merchant);
      return { ok: true, value: { created: before === null, merchant } };
    });
    this.deliverSoon();
    return result;
  }

  private rateLimited(call: CallContext): Result<never> | null {
    const scope = `${call.principal.role}:${call.principal.id}`;
    if (call.via !== "rest" || this.restCalls.hit(scope, this.h.clock()) <= this.restCalls.limit) return null;
    return refused("RATE_LIMITED", "too many requests; slow down");
  }

  /** A webhook subscription's owner asks for every event after `sinceSeq` again. */
  async redeliverWebhook(subscriptionId: string, sinceSeq: number): Promise<Result<{ sinceSeq: number }>> {
    const result = await this.webhooks.redeliver(subscriptionId, sinceSeq);
    if (result.ok) this.deliverSoon();
    return result;
  }

  /**
   * A socket connected to the order's room: from now on its changes are relayed at once, and
   * everything it has not had yet goes now.
   */
  async watchOrder(orderId: string): Promise<{ pending: number }> {
    const order = this.orders.get(orderId);
    if (order && isActiveStatus(order.status)) this.relays.watch(orderId);
    return this.deliverPending();
  }

  /** Delivers now, ignoring backoff (before reading projections; an order room that is behind). */
  async deliverPending(): Promise<{ pending: number }> {
    await this.delivery.flush(true);
    await this.afterDelivery();
    return { pending: this.delivery.pending() };
  }

  /**
   * Starts delivery in the background once the commit is durable (the alarm is the backstop).
   * Started inside the committing task, relay and D1 work ran before the commit's broadcast
   * left: on the single-threaded local runtime the screens got ORDER_CREATED after ~13 ms of the
   * room's CPU instead of ~6 (bench/README.md). Commits that land meanwhile share one delivery.
   */
  deliverSoon(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    void this.h.storage
      .sync()
      .then(() => {
        this.deliveryScheduled = false;
        return this.delivery.flush();
      })
      .then(() => this.afterDelivery())
      .catch((err) => {
        this.deliveryScheduled = false;
        this.say("error", "delivery crashed", { error: errorField(err) });
      });
  }

  /** The alarm: what the schedule says is due, housekeeping, then delivery. */
  async alarm(): Promise<void> {
    this.schedule.fired();
    const now = this.h.clock();
    for (const entry of this.schedule.due(now)) {
      const result = this.runScheduled(entry);
      // Whatever the entry was for has already happened or been undone: nothing left to keep.
      if (!result.ok || entry.kind === "no-screen") this.schedule.clear(entry.kind, entry.id);
    }
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) {
      this.lastPruneMs = now;
      this.h.log.prune(now, this.delivery.keepFrom());
      this.delivery.prune(now);
      this.idempotency.prune(now);
    }
    await this.delivery.flush();
    await this.afterDelivery();
  }

  /** One due schedule entry, as the room's own operation. */
  private runScheduled(entry: DueEntry): Result<OperationValue> {
    const system = (principal: Principal, op: Operation) => this.perform({ principal, via: "system" }, op);
    switch (entry.kind) {
      case "expire":
        return system(SYSTEM_DEADLINE, { action: "EXPIRE", payload: { orderId: entry.id } });
      case "fire":
        return system(SYSTEM_SCHEDULE, { action: "FIRE", payload: { orderId: entry.id } });
      case "reopen":
        return system(SYSTEM_AVAILABILITY, { action: "REOPEN", payload: {} });
      case "unsold":
        return system(SYSTEM_AVAILABILITY, { action: "END_SOLD_OUT", payload: {} });
      case "no-screen": {
        if (this.h.screens() > 0) return refused("CONFLICT", "a screen is back");
        const minutes = autoPauseRules(this.settings.get()!).noScreenMinutes;
        const detail = `no kitchen screen connected for ${minutes} min`;
        return system(SYSTEM_AVAILABILITY, { action: "AUTO_PAUSE", payload: { detail } });
      }
    }
  }

  /**
   * Auto-pause (Additions v2): when the last kitchen screen leaves, the merchant pauses itself
   * after its noScreenMinutes unless a screen comes back first (screenJoined clears it).
   */
  async screenLeft(leaving: WebSocket): Promise<void> {
    const merchant = this.settings.get();
    if (!merchant) return;
    const minutes = autoPauseRules(merchant).noScreenMinutes;
    if (minutes === 0 || this.h.screens(leaving) > 0) return;
    this.schedule.set("no-screen", "merchant", this.h.clock() + minutes * 60_000);
    await this.armAlarm();
  }

  screenJoined(): void {
    this.schedule.clear("no-screen", "merchant");
  }

  /** Whether customers' live views are current: the relays to order rooms are not backed up. */
  deliveryStatus(): DeliveryStatus {
    const now = this.h.clock();
    return deliveryStatusOf(this.delivery, now, this.h.relayQuietMs(), this.relays.side.status(now)?.oldestAgeMs ?? 0);
  }

  private async afterDelivery(): Promise<void> {
    // Tells the kitchen screens when customers' views fall behind, and when they catch up.
    const status = this.deliveryStatus();
    if (status.customersBehind !== (this.toldBehind ?? false)) {
      this.toldBehind = status.customersBehind;
      this.h.broadcast(deliveryStatusFrame(status));
    }
    await this.armAlarm();
  }

  /** Points the one alarm at the earliest thing due. */
  private async armAlarm(): Promise<void> {
    await this.schedule.pointAt([
      this.schedule.earliest(),
      this.delivery.nextDueMs(),
      this.webhooks.recheckAtMs(),
      this.h.log.seq > 0 ? this.lastPruneMs + PRUNE_EVERY_MS : null,
    ]);
  }
}

export { CUSTOMERS_BEHIND_MS };
