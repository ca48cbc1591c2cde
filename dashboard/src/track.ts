/**
 * The customer's tracking page, /track/:orderId: status timeline, prep time and ETA, driver,
 * cancellation reason — live from the order room, resumed with since + epoch like the kitchen.
 */
import { OrderSchema, OrderServerEnvelopeSchema, type Order, StreamEventNameSchema } from "../../schema/index.ts";
import { RoomLink, type LinkStatus } from "./connection.ts";
import { h, setText } from "./dom.ts";
import { age } from "./format.ts";
import { drawTracking, etaText } from "./track-view.ts";
import {
  initialTracking,
  trackingEvent,
  trackingReplayDone,
  trackingSnapshot,
  type TrackingEffect,
  type TrackingState,
} from "./tracking-state.ts";
import type { Session } from "./session.ts";
import { GapCounter, type StreamStats, unknownStreamEvent } from "./stream.ts";

/** Every name the order room's frames may carry today; any other stream event only advances the seq. */
const KNOWN = new Set<string>([...StreamEventNameSchema.options, "SNAPSHOT", "REPLAY_DONE", "ERROR"]);

export interface TrackingProbe {
  readonly stats: StreamStats;
  readonly status: LinkStatus;
  readonly seq: number;
  readonly order: Order | null;
}

export class TrackingPage {
  private state: TrackingState;
  private readonly link: RoomLink;
  private readonly root: HTMLElement;
  private readonly ticker: ReturnType<typeof setInterval>;
  private renderQueued = false;
  private readonly gaps = new GapCounter();

  constructor(
    mount: HTMLElement,
    orderId: string,
    session: Session,
    first: Order,
    private readonly onSignOut: () => void,
  ) {
    this.state = initialTracking(first);
    this.root = h("div", { class: "track" });
    mount.replaceChildren(this.root);
    this.root.addEventListener("click", (e) => {
      if ((e.target as HTMLElement).closest("[data-action=signout]")) this.onSignOut();
    });
    this.link = new RoomLink({
      path: `ws/order/${encodeURIComponent(orderId)}`,
      token: () => session.token,
      cursor: () => this.state.cursor,
      onEnvelope: (raw) => this.handleEnvelope(raw),
      onStatus: () => this.render(),
    });
    this.ticker = setInterval(() => this.render(), 1000);
    // Getters, so a test reading window.__ticketRail always sees the current state.
    const page = this;
    const probe: TrackingProbe = {
      get stats() {
        return page.state.stats;
      },
      get status() {
        return page.link.status;
      },
      get seq() {
        return page.state.cursor?.since ?? 0;
      },
      get order() {
        return page.state.order;
      },
    };
    (window as unknown as { __ticketRail: TrackingProbe }).__ticketRail = probe;
    this.render();
  }

  destroy(): void {
    clearInterval(this.ticker);
    this.link.close();
  }

  private handleEnvelope(raw: unknown): void {
    const parsed = OrderServerEnvelopeSchema.safeParse(raw);
    const now = Date.now();
    let effects: TrackingEffect[] = [];
    if (!parsed.success) {
      const unknown = unknownStreamEvent(raw, KNOWN);
      if (unknown) ({ state: this.state, effects } = trackingEvent(this.state, unknown, now));
      else console.warn("[ticket-rail] ignoring a frame that does not match the contract", parsed.error.issues);
      this.afterEffects(effects);
      return;
    }
    const env = parsed.data;
    switch (env.event) {
      case "SNAPSHOT":
        this.state = trackingSnapshot(
          this.state,
          { seq: env.seq, epoch: env.payload.epoch, order: env.payload.order },
          now,
        );
        this.link.synced();
        break;
      case "REPLAY_DONE":
        ({ state: this.state, effects } = trackingReplayDone(this.state, { seq: env.seq, epoch: env.payload.epoch }));
        if (effects.length === 0) this.link.synced();
        break;
      case "ERROR":
        console.warn("[ticket-rail] order room:", env.payload.message);
        break;
      default:
        ({ state: this.state, effects } = trackingEvent(
          this.state,
          {
            seq: env.seq,
            event: env.event,
            order: env.payload.order,
            ...(env.payload.merchantAction ? { merchantAction: env.payload.merchantAction } : {}),
          },
          now,
        ));
    }
    this.afterEffects(effects);
  }

  private afterEffects(effects: TrackingEffect[]): void {
    if (effects.some((e) => e.kind === "gap")) {
      // Resume from the last applied seq; if that keeps failing, start over from a snapshot.
      if (this.gaps.record(Date.now()) === "snapshot") this.state = { ...this.state, cursor: null };
      this.link.resume();
    }
    this.render();
  }

  private render(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      this.draw(Date.now());
    });
  }

  private draw(now: number): void {
    const order = this.state.order;
    if (!order) return;
    const sig = JSON.stringify([order.version, this.link.status]);
    if (this.root.dataset.sig !== sig) {
      this.root.dataset.sig = sig;
      this.root.dataset.status = order.status;
      drawTracking(this.root, order, this.link.status, now);
    }
    this.updateClocks(now);
  }

  private updateClocks(now: number): void {
    const order = this.state.order;
    if (!order) return;
    const eta = this.root.querySelector<HTMLElement>("[data-eta]");
    if (eta) setText(eta, etaText(order, now));
    const last = this.root.querySelector<HTMLElement>("[data-last]");
    if (last)
      setText(
        last,
        this.state.lastEventAt
          ? `Updated ${age(now - this.state.lastEventAt)}${now - this.state.lastEventAt < 5000 ? "" : " ago"}`
          : "",
      );
  }
}

/** Reads the order first over REST: it tells a refused token (401/403) or a wrong id (404) apart. */
export async function fetchOrder(
  orderId: string,
  token: string,
): Promise<{ ok: true; order: Order } | { ok: false; status: number; message: string }> {
  let res: Response;
  try {
    res = await fetch(`/api/orders/${encodeURIComponent(orderId)}`, { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    return { ok: false, status: 0, message: "No connection. Check your network and reload." };
  }
  if (!res.ok) {
    const message =
      res.status === 404
        ? "We could not find that order."
        : res.status === 403
          ? "This order belongs to another account."
          : res.status === 401
            ? "Please sign in again."
            : `Something went wrong (HTTP ${res.status}).`;
    return { ok: false, status: res.status, message };
  }
  const parsed = OrderSchema.safeParse(await res.json());
  return parsed.success
    ? { ok: true, order: parsed.data }
    : { ok: false, status: 500, message: "The server sent an order this page cannot read." };
}
