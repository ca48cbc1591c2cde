/**
 * MerchantOrderRoom: one per merchant, the single writer of that merchant's orders.
 *
 * Every change — REST or socket, from the merchant, a customer, a driver, dispatch or the
 * acceptance deadline — is one Operation run here (merchant/operations.ts), committed with its
 * stream event in one transaction (merchant/writer.ts), then broadcast to the kitchen screens and
 * delivered to the order rooms and D1 from the event log (delivery/). This class is the wiring:
 * the socket edge is LiveRoom's, the rules are the domain's.
 */
import { drizzle } from "drizzle-orm/d1";
import {
  type AckEnvelope,
  type AuditEntry,
  type DevFaultsBody,
  type Merchant,
  MerchantActionSchema,
  type Order,
  type UpsertMerchantBody,
} from "../../schema/index.ts";
import { projectChanges } from "../db/projection.ts";
import { availabilityAt, soldOutAt } from "../domain/availability.ts";
import { type Principal, SYSTEM_DEADLINE, SYSTEM_SCHEDULE } from "../domain/changes.ts";
import { DEFAULT_REST_LIMIT, parseRateLimit, RateCounter } from "../rate-limit.ts";
import { Delivery, type ParkedChange, type ReceiverStatus } from "./delivery/delivery.ts";
import { extendFaults, type Faults, faultyTargets, noFaults } from "./delivery/faulty-targets.ts";
import { HistoryReceiver } from "./delivery/history-receiver.ts";
import { OrderRoomReceiver } from "./delivery/order-room-receiver.ts";
import type { DeliveryTargets } from "./delivery/receiver.ts";
import { WebhookReceivers } from "./delivery/webhook-receivers.ts";
import { postWebhook } from "../webhooks/http-target.ts";
import { REGISTRY_NAME } from "./webhook-registry.ts";
import type { SnapshotPayload } from "./frames.ts";
import { ackFrame, bulkResultFrame } from "./frames.ts";
import { IDENTITY_HEADER, LiveRoom, requestIdOf, type SocketIdentity, trySend } from "./live-room.ts";
import { auditEntryOf } from "./merchant/audit.ts";
import { ExternalIds } from "./merchant/external-ids.ts";
import { IdempotencyStore } from "./merchant/idempotency-store.ts";
import { type Operation, type OperationValue, runOperation } from "./merchant/operations.ts";
import { OrderStore } from "./merchant/orders.ts";
import { autoPauseRules, SYSTEM_AVAILABILITY } from "./merchant/merchant-changes.ts";
import { type DueEntry, Schedule } from "./merchant/schedule.ts";
import { MerchantSettings, mergeSettings } from "./merchant/settings.ts";
import { merchantTablesExist, openMerchantTables } from "./merchant/tables.ts";
import { type CallContext, notFound, type Result, refused, Writer } from "./merchant/writer.ts";

export type { CallContext, Result };

const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface MerchantOps {
  /** Kitchen screens (merchant staff sockets) connected now. */
  screens: number;
  /** Every socket of the room (screens and dispatch). */
  sockets: number;
  outbox: Record<string, ReceiverStatus>;
  parked: ParkedChange[];
  alarmAt: string | null;
}
/** If the delivery started after a commit is lost (eviction), the alarm retries this soon. */
const DELIVERY_BACKSTOP_MS = 2_000;

/** The parts of a room whose merchant is set up (its tables exist). */
interface Parts {
  settings: MerchantSettings;
  idempotency: IdempotencyStore;
  orders: OrderStore;
  schedule: Schedule;
  writer: Writer;
  delivery: Delivery;
  webhooks: WebhookReceivers;
}

export class MerchantOrderRoom extends LiveRoom {
  /** The room's clock; tests move it to reach deadlines without sleeping. */
  clock: () => number = () => Date.now();
  /** Where delivery goes; tests and dev mode wrap it (delivery/faulty-targets.ts). */
  deliveryTargets: DeliveryTargets;

  private parts: Parts | null = null;
  private readonly restCalls: RateCounter<string>;
  private devFaults: Faults | null = null;
  private lastPruneMs = 0;
  private deliveryScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.restCalls = new RateCounter(parseRateLimit(env.REST_RATE_LIMIT, DEFAULT_REST_LIMIT));
    this.deliveryTargets = {
      orderRoom: (orderId, relays) => env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId)).relay(relays),
      history: (batch) => projectChanges(drizzle(env.DB), batch),
      webhook: postWebhook,
    };
    // A room is asked about merchants that do not exist (any order id names one); it creates
    // its tables only for a merchant being set up, so a lookup leaves no storage behind.
    if (merchantTablesExist(ctx.storage.sql)) this.open();
  }

  private open(): Parts {
    if (this.parts) return this.parts;
    const storage = this.ctx.storage;
    const clock = () => this.clock();
    openMerchantTables(storage);
    const log = this.openLog(true);
    const settings = new MerchantSettings(storage.sql);
    const orders = new OrderStore(storage.sql);
    const schedule = new Schedule(storage, clock);
    const idempotency = new IdempotencyStore(storage.sql);
    const delivery = new Delivery(storage, log, clock);
    const targets = () => this.deliveryTargets;
    delivery.add(new OrderRoomReceiver(storage.sql, log, targets));
    delivery.add(new HistoryReceiver(targets, settings));
    // Webhook subscriptions (Additions v2): one receiver each, learned from the registry.
    const registry = () => this.env.WEBHOOK_REGISTRY.get(this.env.WEBHOOK_REGISTRY.idFromName(REGISTRY_NAME));
    const webhooks = new WebhookReceivers({
      storage,
      log,
      delivery,
      clock,
      merchantId: () => settings.get()?.id ?? null,
      registry,
      target: () => this.deliveryTargets.webhook,
    });
    delivery.addSource(webhooks);
    const externalIds = new ExternalIds(storage.sql);
    const writer = new Writer({ storage, log, orders, schedule, idempotency, settings, externalIds, clock });
    this.parts = { settings, idempotency, orders, schedule, writer, delivery, webhooks };
    return this.parts;
  }

  protected get roomName(): string {
    return `MerchantOrderRoom ${this.parts?.settings.get()?.id ?? "(unconfigured)"}`;
  }

  // ---------------------------------------------------------------- merchant settings

  /**
   * Creates or updates the merchant's settings (no stream event: they are not order changes).
   * A mutating request like any other: rate limited, and idempotent under the caller's key.
   */
  upsertMerchant(
    call: CallContext,
    merchantId: string,
    body: UpsertMerchantBody,
  ): Result<{ created: boolean; merchant: Merchant }> {
    const parts = this.open();
    const limited = this.rateLimited(call);
    if (limited) return limited;
    const { result } = parts.writer.execute(call, { action: "UPSERT_MERCHANT", payload: { merchantId, body } }, () => {
      const before = parts.settings.get();
      if (before && before.id !== merchantId) throw new Error(`room of ${before.id} asked to be ${merchantId}`);
      const merchant = mergeSettings(before, merchantId, body);
      parts.settings.put(merchant);
      return { ok: true, value: { created: before === null, merchant } };
    });
    this.deliverSoon();
    return result;
  }

  /** The merchant: its settings, and its availability and sold-out items as they are now. */
  getMerchant(): Merchant | null {
    const merchant = this.parts?.settings.get();
    if (!merchant) return null;
    const now = this.clock();
    return { ...merchant, availability: availabilityAt(merchant, now), soldOut: soldOutAt(merchant, now) };
  }

  // ---------------------------------------------------------------- reads

  getOrder(orderId: string): Order | null {
    return this.parts?.orders.get(orderId) ?? null;
  }

  /** The order a platform placed under its own id (Additions v2). */
  orderByExternalId(externalId: string): Order | null {
    const known = this.parts?.writer.byExternalId(externalId);
    return known ? (this.parts?.orders.get(known.orderId) ?? null) : null;
  }

  /** The live board: active orders, oldest first, with the seq they are current at. */
  board(): { orders: Order[]; seq: number; epoch: string } | null {
    if (!this.parts?.settings.get()) return null;
    return { orders: this.parts.orders.active(), seq: this.log.seq, epoch: this.log.epoch };
  }

  /** The order's audit trail from the room's log, or null if the log no longer holds all of it. */
  auditTrail(orderId: string): AuditEntry[] | null {
    if (!this.parts) return null;
    const events = this.log.forOrder(orderId);
    if (events[0]?.version !== 1) return null;
    return events.flatMap((e) => {
      const entry = auditEntryOf(e);
      if (!entry) return [];
      const { seq: _seq, ...audit } = entry;
      return [audit];
    });
  }

  // ---------------------------------------------------------------- operations

  /** Runs one operation (merchant/operations.ts) for `call`: the one entry of every change. */
  perform(call: CallContext, op: Operation): Result<OperationValue> {
    const parts = this.parts;
    if (!parts) return notFound("merchant"); // nothing stored, not even the key: there is no room
    const limited = this.rateLimited(call);
    if (limited) return limited;
    const { result, envelopes } = parts.writer.execute(call, op, (now) => {
      const merchant = parts.settings.get();
      if (!merchant) return notFound("merchant");
      return runOperation({ writer: parts.writer, merchant, now }, call, op);
    });
    if (envelopes.length > 0) {
      this.broadcastEnvelopes(envelopes);
      parts.schedule.ensureBy(this.clock() + DELIVERY_BACKSTOP_MS);
      this.deliverSoon();
    }
    return result;
  }

  private rateLimited(call: CallContext): Result<never> | null {
    const scope = `${call.principal.role}:${call.principal.id}`;
    if (call.via !== "rest" || this.restCalls.hit(scope, this.clock()) <= this.restCalls.limit) return null;
    return refused("RATE_LIMITED", "too many requests; slow down");
  }

  /** Delivers now, ignoring backoff (before reading projections; an order room that is behind). */
  async deliverPending(): Promise<{ pending: number }> {
    if (!this.parts) return { pending: 0 };
    await this.parts.delivery.flush(true);
    await this.armAlarm();
    return { pending: this.parts.delivery.pending() };
  }

  /** A webhook subscription's owner asks for every event after `sinceSeq` again (Additions v2). */
  async redeliverWebhook(subscriptionId: string, sinceSeq: number): Promise<Result<{ sinceSeq: number }>> {
    if (!this.parts?.settings.get()) return notFound("merchant");
    const result = await this.parts.webhooks.redeliver(subscriptionId, sinceSeq);
    if (result.ok) this.deliverSoon();
    return result;
  }

  /**
   * Starts delivery in the background once the commit is durable (the alarm is the backstop).
   * Started inside the committing task, relay and D1 work ran before the commit's broadcast
   * left: on the single-threaded local runtime the screens got ORDER_CREATED after ~13 ms of the
   * room's CPU instead of ~6 (bench/README.md). Commits that land meanwhile share one delivery.
   */
  private deliverSoon(): void {
    if (this.deliveryScheduled || !this.parts) return;
    this.deliveryScheduled = true;
    const delivery = this.parts.delivery;
    void this.ctx.storage
      .sync()
      .then(() => {
        this.deliveryScheduled = false;
        return delivery.flush();
      })
      .then(() => this.armAlarm())
      .catch((err) => {
        this.deliveryScheduled = false;
        console.error(`[${this.roomName}] delivery failed`, err);
      });
  }

  /**
   * What an operator needs to see inside (`GET /api/merchants/:id/ops`): connected screens,
   * each receiver's backlog and last error, parked changes, when the alarm fires next.
   */
  async ops(): Promise<MerchantOps> {
    const parts = this.parts;
    const sockets = this.ctx.getWebSockets();
    const screens = sockets.filter((ws) => (ws.deserializeAttachment() as SocketIdentity).role === "merchant").length;
    const alarm = await this.ctx.storage.getAlarm();
    return {
      screens,
      sockets: sockets.length,
      outbox: parts ? parts.delivery.status(this.clock()) : {},
      parked: parts ? parts.delivery.parked() : [],
      alarmAt: alarm === null ? null : new Date(alarm).toISOString(),
    };
  }

  // ---------------------------------------------------------------- dev-only fault injection

  /**
   * Dev mode only (`POST /api/dev/faults`, driven by `npm run chaos`): until the given times,
   * relays to order rooms and/or D1 fail as if the receiver were down - or, with `afterDelivery`,
   * they arrive but the acknowledgement is lost. In memory on purpose: an eviction or restart ends
   * the outage, as a real one would end; without DEV_MODE it refuses, whoever calls.
   */
  injectRelayFaults(spec: DevFaultsBody): Result<{ orderRoomUntil: string | null; projectionUntil: string | null }> {
    if (this.env.DEV_MODE !== "true") return notFound("fault injection");
    if (!this.parts?.settings.get()) return notFound("merchant");
    if (!this.devFaults) {
      this.devFaults = noFaults();
      this.deliveryTargets = faultyTargets(this.deliveryTargets, this.devFaults, () => this.clock());
    }
    return { ok: true, value: extendFaults(this.devFaults, spec, this.clock()) };
  }

  // ---------------------------------------------------------------- sockets

  override async fetch(request: Request): Promise<Response> {
    const raw = request.headers.get(IDENTITY_HEADER);
    if (!raw || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected an authorised WebSocket upgrade", { status: 400 });
    }
    if (!this.parts?.settings.get()) {
      return Response.json({ error: { code: "NOT_FOUND", message: "merchant not found" } }, { status: 404 });
    }
    const who = JSON.parse(raw) as SocketIdentity;
    if (who.role === "merchant") this.parts.schedule.clear("no-screen", "merchant");
    return this.openStream(request, who);
  }

  protected snapshotPayload(epoch: string): SnapshotPayload {
    const merchant = this.getMerchant();
    return { epoch, orders: this.parts?.orders.active() ?? [], ...(merchant ? { merchant } : {}) };
  }

  protected async onFrame(ws: WebSocket, who: SocketIdentity, frame: unknown): Promise<void> {
    const parsed = MerchantActionSchema.safeParse(frame);
    if (!parsed.success) {
      const error = { code: "BAD_REQUEST" as const, message: "invalid action frame", details: parsed.error.issues };
      this.sendError(ws, error, requestIdOf(frame));
      return;
    }
    const { action, requestId, payload } = parsed.data;
    if (who.role !== "merchant" || who.merchantId !== this.parts?.settings.get()?.id) {
      this.sendError(ws, { code: "FORBIDDEN", message: "only this merchant's staff may act on its orders" }, requestId);
      return;
    }
    const principal = { role: who.role, id: who.sub, merchantId: who.merchantId };
    const result = this.perform({ principal, via: "socket", key: requestId }, { action, payload } as Operation);
    if (!result.ok) this.sendError(ws, result.error, requestId);
    else if ("results" in result.value) trySend(ws, bulkResultFrame(result.value.results, requestId));
    else trySend(ws, ackFrame(ackPayload(result.value), requestId));
  }

  // ---------------------------------------------------------------- alarm

  /** Fires at the earliest of: a scheduled entry, a delivery retry, housekeeping. */
  override async alarm(): Promise<void> {
    const parts = this.parts;
    if (!parts) return; // only a configured room ever sets one
    parts.schedule.fired();
    const now = this.clock();
    for (const entry of parts.schedule.due(now)) {
      const result = this.runScheduled(entry);
      // Whatever the entry was for has already happened or been undone: nothing left to keep.
      if (!result.ok || entry.kind === "no-screen") parts.schedule.clear(entry.kind, entry.id);
    }
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) this.housekeeping(parts, now);
    await parts.delivery.flush();
    await this.armAlarm();
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
        if (this.screens() > 0) return refused("CONFLICT", "a screen is back");
        const minutes = autoPauseRules(this.parts!.settings.get()!).noScreenMinutes;
        const reason = `auto: no kitchen screen connected for ${minutes} min`;
        return system(SYSTEM_AVAILABILITY, { action: "AUTO_PAUSE", payload: { reason } });
      }
    }
  }

  /** Kitchen screens (merchant staff sockets) connected now, but `leaving`. */
  private screens(leaving?: WebSocket): number {
    return this.ctx.getWebSockets("merchant").filter((ws) => ws !== leaving && ws.readyState === WebSocket.OPEN).length;
  }

  /**
   * Auto-pause (Additions v2): when the last kitchen screen leaves, the room pauses the merchant
   * after the merchant's noScreenMinutes unless one comes back first.
   */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await super.webSocketClose(ws, code, reason);
    const parts = this.parts;
    const merchant = parts?.settings.get();
    if (!parts || !merchant) return;
    const who = ws.deserializeAttachment() as SocketIdentity;
    const minutes = autoPauseRules(merchant).noScreenMinutes;
    if (who.role !== "merchant" || minutes === 0 || this.screens(ws) > 0) return;
    parts.schedule.set("no-screen", "merchant", this.clock() + minutes * 60_000);
    await this.armAlarm();
  }

  private housekeeping(parts: Parts, now: number): void {
    this.lastPruneMs = now;
    this.log.prune(now, parts.delivery.keepFrom());
    parts.delivery.prune(now);
    parts.idempotency.prune(now);
  }

  /** Points the one alarm at the earliest thing due. */
  private async armAlarm(): Promise<void> {
    const parts = this.parts;
    if (!parts) return;
    await parts.schedule.pointAt([
      parts.schedule.earliest(),
      parts.delivery.nextDueMs(),
      this.log.seq > 0 ? this.lastPruneMs + PRUNE_EVERY_MS : null,
    ]);
  }
}

/** The ACK of a socket action: the order it changed, or the merchant setting it set. */
function ackPayload(value: Exclude<OperationValue, { results: unknown }>): AckEnvelope["payload"] {
  if ("placed" in value) return { order: value.placed };
  if ("id" in value) return { order: value };
  return value;
}
