/**
 * OrderRoom: one per order, the customer's and driver's live view of it. It never decides
 * anything: it receives every committed change of its order from the merchant room's outbox,
 * in version order, and keeps its own gap-free stream whose event 1 is ORDER_CREATED.
 */
import { merchantIdOfOrder, type MerchantActionKind, type Order, type StreamEventName } from "../../schema/index.ts";
import { IDENTITY_HEADER, LiveRoom, envelopeJson, requestIdOf, type SocketIdentity } from "./live-room.ts";

/** One change of the order, as the merchant room's outbox relays it. */
export interface RelayEnvelope {
  event: StreamEventName;
  at: string;
  requestId?: string;
  order: Order;
  merchantAction?: MerchantActionKind;
}

/** ok: the room now holds this version (newly or already); !ok: it is missing an earlier one. */
export interface RelayAck {
  ok: boolean;
  version: number;
}

export class OrderRoom extends LiveRoom {
  private readonly sql: SqlStorage;
  private orderCache: Order | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS current_order (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, json TEXT NOT NULL)`,
    );
    this.openLog(); // only real orders reach an order room (the Worker checks first)
  }

  protected get roomName(): string {
    return `OrderRoom ${this.order()?.id ?? "(empty)"}`;
  }

  private order(): Order | null {
    if (this.orderCache === undefined) {
      const row = this.sql.exec<{ json: string }>(`SELECT json FROM current_order WHERE id = 1`).toArray()[0];
      this.orderCache = row ? (JSON.parse(row.json) as Order) : null;
    }
    return this.orderCache;
  }

  getOrder(): Order | null {
    return this.order();
  }

  /** The stream's position, for tests and resumption checks. */
  streamInfo(): { seq: number; epoch: string } {
    return { seq: this.log.seq, epoch: this.log.epoch };
  }

  /**
   * Applies one relayed change. Idempotent by version: an old or repeated relay changes nothing
   * and is acknowledged; one that skips a version is refused so the outbox retries in order.
   */
  relay(relay: RelayEnvelope): RelayAck {
    const have = this.order()?.version ?? 0;
    if (relay.order.version <= have) return { ok: true, version: have };
    if (relay.order.version !== have + 1) return { ok: false, version: have };
    let envelope = "";
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT OR REPLACE INTO current_order (id, version, json) VALUES (1, ?, ?)`,
        relay.order.version,
        JSON.stringify(relay.order),
      );
      const payload = { order: relay.order, ...(relay.merchantAction ? { merchantAction: relay.merchantAction } : {}) };
      envelope = this.log.append(relay.order.id, relay.order.version, "relay", Date.now(), (seq) =>
        envelopeJson(relay.event, seq, payload, relay.requestId, relay.at),
      ).envelope;
    });
    this.orderCache = relay.order;
    this.broadcast(envelope);
    if (relay.event === "DRIVER_ASSIGNED") this.dropReplacedDrivers(relay.order);
    return { ok: true, version: relay.order.version };
  }

  /** A driver taken off the order loses its live view of it. */
  private dropReplacedDrivers(order: Order): void {
    for (const ws of this.ctx.getWebSockets("driver")) {
      const who = ws.deserializeAttachment() as SocketIdentity;
      if (who.sub !== order.driver?.id) ws.close(1008, "no longer assigned to this order");
    }
  }

  override async fetch(request: Request): Promise<Response> {
    const raw = request.headers.get(IDENTITY_HEADER);
    const orderId = new URL(request.url).pathname.split("/").pop() ?? "";
    if (!raw || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected an authorised WebSocket upgrade", { status: 400 });
    }
    if (!this.order()) {
      // The order exists (the Worker checked with its merchant room) but its first relay has not
      // arrived yet: ask the merchant room to deliver now rather than open on an empty snapshot.
      const merchant = this.env.MERCHANT_ROOM.get(
        this.env.MERCHANT_ROOM.idFromName(merchantIdOfOrder(decodeURIComponent(orderId))),
      );
      await merchant.deliverPending();
    }
    return this.openStream(request, JSON.parse(raw) as SocketIdentity);
  }

  protected snapshotPayload(): Record<string, unknown> {
    return { order: this.order() };
  }

  protected async onFrame(ws: WebSocket, _who: SocketIdentity, frame: unknown): Promise<void> {
    this.sendError(
      ws,
      { code: "BAD_REQUEST", message: "the order room takes no actions; use the REST API" },
      requestIdOf(frame),
    );
  }
}
