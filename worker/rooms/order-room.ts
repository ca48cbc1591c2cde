/**
 * OrderRoom: one per order, the customer's and driver's live view of it. It never decides
 * anything: it receives every committed change of its order from the merchant room's outbox,
 * in version order, and keeps its own gap-free stream whose event 1 is ORDER_CREATED.
 */
import { countStorageWrites } from "./rows-written.ts";
import { merchantIdOfOrder, type MerchantActionKind, type Order, type StreamEventName } from "../../schema/index.ts";
import { readEnvelope } from "./event-log.ts";
import { orderEventFrame, type SnapshotPayload } from "./frames.ts";
import { IDENTITY_HEADER, LiveRoom, requestIdOf, type SocketIdentity } from "./live-room.ts";

/** One change of the order, as the merchant room's outbox relays it. */
export interface RelayEnvelope {
  event: StreamEventName;
  at: string;
  requestId?: string;
  order: Order;
  merchantAction?: MerchantActionKind;
}

/** The version the room holds after a relay: below the last one sent, it is missing an earlier one. */
export interface RelayAck {
  version: number;
}

export class OrderRoom extends LiveRoom {
  private readonly sql: SqlStorage;
  private orderCache: Order | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countStorageWrites(env, ctx.storage, "orderRoom");
    this.sql = ctx.storage.sql;
    // The order as it is now is the newest event's payload.order: the log always keeps its newest
    // event, so no table of its own (rooms made before issue 15 also have a current_order table,
    // no longer written or read: a row fewer per relay, two fewer per new room).
    this.openLog(); // only real orders reach an order room (the Worker checks first)
  }

  protected get roomName(): string {
    return `OrderRoom ${this.order()?.id ?? "(empty)"}`;
  }

  private order(): Order | null {
    if (this.orderCache === undefined) {
      const row = this.sql
        .exec<{ envelope: string }>(`SELECT envelope FROM events ORDER BY seq DESC LIMIT 1`)
        .toArray()[0];
      const newest = row ? (readEnvelope(row.envelope) as { payload?: { order?: Order } }) : null;
      this.orderCache = newest?.payload?.order ?? null;
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
   * Applies relayed changes of the order, oldest first, in one transaction (the merchant room
   * coalesces every pending version into one call). Idempotent by version: an old or repeated
   * version changes nothing; at a gap it stops, and the answer says which version it holds, so
   * the sender resends from there.
   */
  relay(relays: RelayEnvelope[]): RelayAck {
    const have = this.order()?.version ?? 0;
    const fresh: RelayEnvelope[] = [];
    for (const r of relays) {
      if (r.order.version === have + fresh.length + 1) fresh.push(r);
      else if (r.order.version > have + fresh.length + 1) break;
    }
    if (fresh.length === 0) return { version: have };
    const envelopes: string[] = [];
    try {
      this.commitRelays(fresh, envelopes);
    } catch (err) {
      this.log.reload(); // nothing was committed
      throw err;
    }
    const latest = fresh[fresh.length - 1]!.order;
    this.orderCache = latest;
    this.broadcastEnvelopes(envelopes);
    if (fresh.some((r) => r.event === "DRIVER_ASSIGNED")) this.dropReplacedDrivers(latest);
    return { version: latest.version };
  }

  private commitRelays(fresh: RelayEnvelope[], envelopes: string[]): void {
    this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      for (const r of fresh) {
        const payload = { order: r.order, ...(r.merchantAction ? { merchantAction: r.merchantAction } : {}) };
        const stored = this.log.append(r.order.id, r.order.version, "relay", now, (seq) =>
          orderEventFrame(r.event, seq, payload, r.at, r.requestId),
        );
        envelopes.push(stored.envelope);
      }
    });
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
    // Someone watches now: the merchant room relays this order's changes at once from here on
    // (it lets changes of unwatched orders wait a little, to send several in one call), and
    // first delivers what this room has not had, so the socket opens on the order as it is.
    const merchant = this.env.MERCHANT_ROOM.get(
      this.env.MERCHANT_ROOM.idFromName(merchantIdOfOrder(decodeURIComponent(orderId))),
    );
    await merchant.watchOrder(decodeURIComponent(orderId));
    return this.openStream(request, JSON.parse(raw) as SocketIdentity);
  }

  protected snapshotPayload(epoch: string): SnapshotPayload {
    return { epoch, order: this.order() };
  }

  protected async onFrame(ws: WebSocket, _who: SocketIdentity, frame: unknown): Promise<void> {
    this.sendError(
      ws,
      { code: "BAD_REQUEST", message: "the order room takes no actions; use the REST API" },
      requestIdOf(frame),
    );
  }
}
