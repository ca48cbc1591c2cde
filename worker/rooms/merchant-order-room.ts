/**
 * MerchantOrderRoom: one per merchant, the single writer of that merchant's orders.
 *
 * Every change — REST or socket, from the merchant, a customer, a driver, dispatch, a platform or
 * the room's own schedule — is one Operation (merchant/operations.ts) run by the room's desk
 * (merchant/desk.ts): committed with its stream event in one transaction (merchant/writer.ts),
 * then broadcast to the kitchen screens and delivered from the event log to the order rooms and
 * D1 (delivery/). This class is the wiring: the socket edge is LiveRoom's, the rest the desk's.
 */
import { countRelayCall, countStorageWrites } from "./rows-written.ts";
import {
  type AckEnvelope,
  type AuditEntry,
  type DeviceEntry,
  type DevFaultsBody,
  type Merchant,
  MerchantActionSchema,
  type Order,
  type UpsertMerchantBody,
} from "../../schema/index.ts";
import { projectChanges } from "../db/projection.ts";
import { assignShard, shardDb } from "../db/shards.ts";
import { availabilityAt, soldOutAt } from "../domain/availability.ts";
import { extendFaults, type Faults, faultyTargets, noFaults } from "./delivery/faulty-targets.ts";
import type { DeliveryTargets } from "./delivery/receiver.ts";
import { postWebhook } from "../webhooks/http-target.ts";
import { REGISTRY_NAME } from "./webhook-registry.ts";
import { ackFrame, bulkResultFrame, type SnapshotPayload } from "./frames.ts";
import { IDENTITY_HEADER, LiveRoom, requestIdOf, type SocketIdentity, trySend } from "./live-room.ts";
import { REFRESH_TOKEN_TTL_MS } from "../auth/device-credentials.ts";
import { auditEntryOf } from "./merchant/audit.ts";
import { Desk } from "./merchant/desk.ts";
import { closeDeviceSockets, DeviceRegistry, type RotateOutcome } from "./merchant/devices.ts";
import type { Operation, OperationValue } from "./merchant/operations.ts";
import type { MerchantOps } from "./merchant/ops.ts";
import { merchantTablesExist, openMerchantTables } from "./merchant/tables.ts";
import { type CallContext, notFound, type Result } from "./merchant/writer.ts";

export type { CallContext, MerchantOps, Result };

export class MerchantOrderRoom extends LiveRoom {
  /** The room's clock; tests move it to reach deadlines without sleeping. */
  clock: () => number = () => Date.now();
  /** Where delivery goes; tests and dev mode wrap it (delivery/faulty-targets.ts). */
  deliveryTargets: DeliveryTargets;
  /**
   * How long a change of an order nobody watches may wait for the next before it is relayed to
   * the order's room (RELAY_QUIET_MS, default 30 s; 0 relays every change at once).
   */
  relayQuietMs: number;

  /** Set once the merchant exists (its tables do). */
  private desk: Desk | null = null;
  private deviceRegistry: DeviceRegistry | null = null;
  private devFaults: Faults | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countStorageWrites(env, ctx.storage, "merchantRoom");
    this.deliveryTargets = {
      orderRoom: (orderId, relays) => {
        countRelayCall();
        return env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId)).relay(relays);
      },
      history: (batch) => projectChanges(this.historyDb(), batch),
      webhook: postWebhook,
    };
    this.relayQuietMs = parseQuietMs(env.RELAY_QUIET_MS);
    // A room is asked about merchants that do not exist (any order id names one); it creates
    // its tables only for a merchant being set up, so a lookup leaves no storage behind.
    if (merchantTablesExist(ctx.storage.sql)) this.open();
  }

  private open(): Desk {
    if (this.desk) return this.desk;
    openMerchantTables(this.ctx.storage);
    this.desk = new Desk({
      storage: this.ctx.storage,
      env: this.env,
      log: this.openLog((orderId) => this.desk?.orders.eventSeqs(orderId) ?? null),
      clock: () => this.clock(),
      targets: () => this.deliveryTargets,
      broadcastEnvelopes: (envelopes) => this.broadcastEnvelopes(envelopes),
      broadcast: (frame) => this.broadcast(frame),
      relayQuietMs: () => this.relayQuietMs,
      webhookRegistry: () => this.env.WEBHOOK_REGISTRY.get(this.env.WEBHOOK_REGISTRY.idFromName(REGISTRY_NAME)),
      screens: (leaving) =>
        this.ctx.getWebSockets("merchant").filter((ws) => ws !== leaving && ws.readyState === WebSocket.OPEN).length,
    });
    return this.desk;
  }

  /** This merchant's history shard (worker/db/shards.ts). */
  private historyDb() {
    const settings = this.open().settings;
    const merchantId = settings.get()?.id;
    if (!merchantId) throw new Error("no merchant: nothing to project");
    return shardDb(
      this.env,
      settings.historyShard(() => assignShard(this.env, merchantId)),
    );
  }

  protected get roomName(): string {
    return `MerchantOrderRoom ${this.desk?.settings.get()?.id ?? "(unconfigured)"}`;
  }

  // ---------------------------------------------------------------- RPC

  /** Creates or updates the merchant's settings (no stream event: they are not order changes). */
  upsertMerchant(call: CallContext, merchantId: string, body: UpsertMerchantBody) {
    return this.open().upsertMerchant(call, merchantId, body);
  }

  /** The merchant: its settings, and its availability and sold-out items as they are now. */
  getMerchant(): Merchant | null {
    const merchant = this.desk?.settings.get();
    if (!merchant) return null;
    const now = this.clock();
    return { ...merchant, availability: availabilityAt(merchant, now), soldOut: soldOutAt(merchant, now) };
  }

  getOrder(orderId: string): Order | null {
    return this.desk?.orders.get(orderId) ?? null;
  }

  /** The order a platform placed under its own id (Additions v2). */
  orderByExternalId(externalId: string): Order | null {
    const known = this.desk?.writer.byExternalId(externalId);
    return known ? (this.desk?.orders.get(known.orderId) ?? null) : null;
  }

  /**
   * The merchant's history, newest first, keyset-paginated by (placedAt, id): every order the
   * room has had, as it is now (the room keeps them; D1 keeps only lean rows).
   */
  history(limit: number, after: { placedAt: string; id: string } | null) {
    if (!this.desk?.settings.get()) return null;
    return { ...this.desk.orders.history(limit, after), seq: this.log.seq };
  }

  /** The live board: active orders, oldest first, with the seq they are current at. */
  board(): { orders: Order[]; seq: number; epoch: string } | null {
    if (!this.desk?.settings.get()) return null;
    return { orders: this.desk.orders.active(), seq: this.log.seq, epoch: this.log.epoch };
  }

  /** The order's audit trail from the room's log, or null if the log no longer holds all of it. */
  auditTrail(orderId: string): AuditEntry[] | null {
    if (!this.desk) return null;
    const events = this.log.forOrder(orderId);
    if (events[0]?.version !== 1) return null;
    return events.flatMap((e) => {
      const entry = auditEntryOf(e);
      if (!entry) return [];
      const { seq: _seq, ...audit } = entry;
      return [audit];
    });
  }

  /** Runs one operation (merchant/operations.ts) for `call`: the one entry of every change. */
  perform(call: CallContext, op: Operation): Result<OperationValue> {
    // Nothing stored, not even the key, for a merchant that does not exist.
    return this.desk ? this.desk.perform(call, op) : notFound("merchant");
  }

  /** A webhook subscription's owner asks for every event after `sinceSeq` again (Additions v2). */
  async redeliverWebhook(subscriptionId: string, sinceSeq: number): Promise<Result<{ sinceSeq: number }>> {
    if (!this.desk?.settings.get()) return notFound("merchant");
    return this.desk.redeliverWebhook(subscriptionId, sinceSeq);
  }

  /** An order room's socket connected: relay that order's changes at once from now, and catch it up. */
  async watchOrder(orderId: string): Promise<{ pending: number }> {
    return this.desk ? this.desk.watchOrder(orderId) : { pending: 0 };
  }

  /** Delivers now, ignoring backoff (before reading projections; an order room that is behind). */
  async deliverPending(): Promise<{ pending: number }> {
    return this.desk ? this.desk.deliverPending() : { pending: 0 };
  }

  /**
   * What an operator needs to see inside (`GET /api/merchants/:id/ops`): connected screens,
   * each receiver's backlog and last error, parked changes, when the alarm fires next.
   */
  async ops(): Promise<MerchantOps> {
    const sockets = this.ctx.getWebSockets();
    const alarm = await this.ctx.storage.getAlarm();
    return {
      screens: this.ctx.getWebSockets("merchant").length,
      sockets: sockets.length,
      outbox: this.desk ? this.desk.delivery.status(this.clock()) : {},
      parked: this.desk ? this.desk.delivery.parked() : [],
      alarmAt: alarm === null ? null : new Date(alarm).toISOString(),
    };
  }

  // ---------------------------------------------------------------- paired devices (merchant/devices.ts)

  /** The merchant's paired screens; null while the merchant is not set up. */
  private get devices(): DeviceRegistry | null {
    if (!this.desk?.settings.get()) return null;
    return (this.deviceRegistry ??= new DeviceRegistry(this.ctx.storage, () => this.clock(), REFRESH_TOKEN_TTL_MS));
  }

  /** Records a newly paired screen; null if there is no such merchant. */
  addDevice(device: { id: string; name: string; refreshHash: string }): DeviceEntry | null {
    return this.devices?.add(device) ?? null;
  }

  listDevices(): DeviceEntry[] | null {
    return this.devices?.list() ?? null;
  }

  /** Whether a device token may still be used (checked by the Worker on every device request). */
  deviceActive(deviceId: string): boolean {
    return this.devices?.isActive(deviceId) ?? false;
  }

  /** Rotates a device's refresh token; a reused one revokes the device and closes its sockets. */
  rotateDeviceRefresh(deviceId: string, presentedHash: string, nextHash: string): RotateOutcome {
    const outcome = this.devices?.rotate(deviceId, presentedHash, nextHash) ?? { ok: false, reason: "unknown" };
    if (!outcome.ok && outcome.reason === "reused") {
      this.desk?.say("warn", "device refresh token reused: device revoked", { device: deviceId });
      closeDeviceSockets(this.ctx, deviceId, "device credential reused");
    }
    return outcome;
  }

  /** Revokes a device: its tokens stop working and its sockets close, now. Null if unknown. */
  revokeDevice(deviceId: string): DeviceEntry | null {
    const device = this.devices?.revoke(deviceId) ?? null;
    if (device) closeDeviceSockets(this.ctx, deviceId);
    return device;
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
    if (!this.desk?.settings.get()) return notFound("merchant");
    if (!this.devFaults) {
      this.devFaults = noFaults();
      this.deliveryTargets = faultyTargets(this.deliveryTargets, this.devFaults, () => this.clock());
    }
    return { ok: true, value: extendFaults(this.devFaults, spec, this.clock()) };
  }

  /** Dev mode (`POST /api/dev/deliver`, the bench): deliverPending, for a merchant that exists. */
  async deliverForDev(): Promise<Result<{ pending: number }>> {
    if (this.env.DEV_MODE !== "true") return notFound("delivery hook");
    if (!this.desk?.settings.get()) return notFound("merchant");
    return { ok: true, value: await this.desk.deliverPending() };
  }

  // ---------------------------------------------------------------- sockets

  override async fetch(request: Request): Promise<Response> {
    const raw = request.headers.get(IDENTITY_HEADER);
    if (!raw || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected an authorised WebSocket upgrade", { status: 400 });
    }
    if (!this.desk?.settings.get()) {
      return Response.json({ error: { code: "NOT_FOUND", message: "merchant not found" } }, { status: 404 });
    }
    const who = JSON.parse(raw) as SocketIdentity;
    // Checked again here, in the room's turn: a revocation between the Worker's check and now wins.
    if (who.device && !this.deviceActive(who.sub)) {
      return Response.json({ error: { code: "UNAUTHORIZED", message: "this device was revoked" } }, { status: 401 });
    }
    if (who.role === "merchant") this.desk.screenJoined();
    return this.openStream(request, who);
  }

  protected snapshotPayload(epoch: string): SnapshotPayload {
    const merchant = this.getMerchant();
    const orders = this.desk?.orders.active() ?? [];
    return { epoch, orders, ...(merchant && this.desk ? { merchant, delivery: this.desk.deliveryStatus() } : {}) };
  }

  protected async onFrame(ws: WebSocket, who: SocketIdentity, frame: unknown): Promise<void> {
    const parsed = MerchantActionSchema.safeParse(frame);
    if (!parsed.success) {
      const error = { code: "BAD_REQUEST" as const, message: "invalid action frame", details: parsed.error.issues };
      this.sendError(ws, error, requestIdOf(frame));
      return;
    }
    const { action, requestId, payload } = parsed.data;
    const staff = who.role === "merchant" && who.merchantId === this.desk?.settings.get()?.id;
    // Dispatch and a platform may set the kitchen's availability and 86 list here as over REST
    // (same operation); everything else on this socket is the kitchen's own.
    const operatorMay = (who.role === "dispatch" || who.role === "platform") && KITCHEN_STATE_ACTIONS.has(action);
    if (!staff && !operatorMay) {
      this.sendError(ws, { code: "FORBIDDEN", message: "only this merchant's staff may act on its orders" }, requestId);
      return;
    }
    const principal = { role: who.role, id: who.sub, ...(who.merchantId ? { merchantId: who.merchantId } : {}) };
    const result = this.perform({ principal, via: "socket", key: requestId }, { action, payload } as Operation);
    if (!result.ok) this.sendError(ws, result.error, requestId);
    else if ("results" in result.value) trySend(ws, bulkResultFrame(result.value.results, requestId));
    else trySend(ws, ackFrame(ackPayload(result.value), requestId));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await super.webSocketClose(ws, code, reason);
    if ((ws.deserializeAttachment() as SocketIdentity).role === "merchant") await this.desk?.screenLeft(ws);
  }

  /** Fires at the earliest of: a scheduled entry, a delivery retry, housekeeping. */
  override async alarm(): Promise<void> {
    await this.desk?.alarm(); // only a configured room ever sets one
  }
}

/** Socket actions about the merchant's own state, which dispatch and a platform may take too. */
const KITCHEN_STATE_ACTIONS = new Set<string>(["MERCHANT_SET_AVAILABILITY", "MERCHANT_SET_SOLD_OUT"]);

/** The ACK of a socket action: the order it changed, or the merchant setting it set. */
function ackPayload(value: Exclude<OperationValue, { results: unknown }>): AckEnvelope["payload"] {
  if ("placed" in value) return { order: value.placed };
  if ("id" in value) return { order: value };
  return value;
}

const DEFAULT_RELAY_QUIET_MS = 30_000;

function parseQuietMs(value: string | undefined): number {
  const ms = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_RELAY_QUIET_MS;
}
