/**
 * The customer's tracking page, /track/:orderId: status timeline, prep time and ETA, driver,
 * cancellation reason — live from the order room, resumed with since + epoch like the kitchen.
 */
import { OrderSchema, OrderServerEnvelopeSchema, type Order } from "../../schema/index.ts";
import { RoomLink, type LinkStatus } from "./connection.ts";
import { fill, h, setText } from "./dom.ts";
import { age, clock, money, shortOrderNumber, STATUS_WORDS, timeOfDay } from "./format.ts";
import {
  initialTracking,
  timeline,
  trackingEvent,
  trackingReplayDone,
  trackingSnapshot,
  type TrackingEffect,
  type TrackingState,
} from "./tracking-state.ts";
import type { Session } from "./session.ts";
import type { StreamStats } from "./stream.ts";

export interface TrackingProbe {
  readonly stats: StreamStats;
  readonly status: LinkStatus;
  readonly seq: number;
  readonly order: Order | null;
}

const LINK_TEXT: Record<LinkStatus, string> = {
  connecting: "Connecting…",
  syncing: "Syncing…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

export class TrackingPage {
  private state: TrackingState;
  private readonly link: RoomLink;
  private readonly root: HTMLElement;
  private readonly ticker: ReturnType<typeof setInterval>;
  private renderQueued = false;
  private recentGaps: number[] = [];

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
    if (!parsed.success) {
      console.warn("[ticket-rail] ignoring a frame that does not match the contract", parsed.error.issues);
      return;
    }
    const env = parsed.data;
    const now = Date.now();
    let effects: TrackingEffect[] = [];
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
    if (effects.some((e) => e.kind === "gap")) {
      // Resume from the last applied seq; if that keeps failing, start over from a snapshot.
      const now = Date.now();
      this.recentGaps = [...this.recentGaps.filter((t) => now - t < 10_000), now];
      if (this.recentGaps.length > 3) {
        this.state = { ...this.state, cursor: null };
        this.recentGaps = [];
      }
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
    if (this.root.dataset.sig === sig) {
      this.updateClocks(now);
      return;
    }
    this.root.dataset.sig = sig;
    const steps = timeline(order);
    this.root.dataset.status = order.status;
    fill(
      this.root,
      h(
        "header",
        { class: "track-top" },
        h(
          "div",
          { class: "brand" },
          h("span", { class: "logo", "aria-hidden": "true" }, "▤"),
          h("span", { class: "brand-name" }, "Ticket Rail"),
        ),
        h(
          "div",
          { class: "link small", "data-status": this.link.status, role: "status" },
          h("span", { class: "link-icon", "aria-hidden": "true" }),
          h("span", { class: "link-word" }, LINK_TEXT[this.link.status]),
        ),
      ),
      h(
        "section",
        { class: "track-hero", "data-status": order.status },
        h("p", { class: "track-no" }, `Order ${shortOrderNumber(order.id)}`),
        h("h1", { class: "track-headline" }, headline(order)),
        h("p", { class: "track-eta", "data-eta": "" }),
        order.prepMinutes && order.status !== "REJECTED"
          ? h("p", { class: "track-prep", "data-prep": order.prepMinutes }, `Prep time ${order.prepMinutes} min`)
          : null,
        order.status === "CANCELLED" || order.status === "REJECTED"
          ? h(
              "p",
              { class: "track-reason", "data-reason": "" },
              `Reason: ${order.cancelReason ?? order.rejectReason ?? "none given"}`,
              order.cancelledBy
                ? ` (cancelled by ${order.cancelledBy.role === "customer" ? "you" : order.cancelledBy.role === "dispatch" ? "support" : order.cancelledBy.role})`
                : "",
            )
          : null,
      ),
      order.driver
        ? h(
            "section",
            { class: "track-driver", "data-driver": order.driver.id },
            h("span", { class: "driver-icon", "aria-hidden": "true" }, "➜"),
            h(
              "div",
              {},
              h("strong", {}, order.driver.name),
              h(
                "span",
                {},
                order.status === "PICKED_UP"
                  ? " is on the way to you"
                  : order.status === "DELIVERED"
                    ? " delivered your order"
                    : order.driver.arrivedAt
                      ? " is at the restaurant"
                      : order.driver.etaMinutes !== undefined
                        ? ` is heading to the restaurant · ETA ${order.driver.etaMinutes} min`
                        : " is your driver",
              ),
            ),
          )
        : null,
      h(
        "ol",
        { class: "timeline" },
        ...steps.map((s) =>
          h(
            "li",
            { class: `step step-${s.state}`, "data-step": s.status },
            h(
              "span",
              { class: "step-dot", "aria-hidden": "true" },
              s.state === "done" ? "✓" : s.state === "stopped" ? "✕" : s.state === "current" ? "●" : "○",
            ),
            h("span", { class: "step-label" }, s.label),
            s.at ? h("time", { class: "step-time", datetime: s.at }, timeOfDay(s.at)) : null,
            s.detail ? h("span", { class: "step-detail" }, s.detail) : null,
          ),
        ),
      ),
      h(
        "section",
        { class: "track-items" },
        h("h2", {}, "Your order"),
        h(
          "ul",
          {},
          ...order.items.map((i) =>
            h(
              "li",
              {},
              h("span", { class: "qty" }, `${i.quantity}×`),
              h("span", { class: "item-name" }, i.name, i.notes ? h("span", { class: "item-note" }, i.notes) : null),
              h("span", { class: "price" }, money(i.quantity * i.unitPriceCents)),
            ),
          ),
        ),
        order.notes ? h("p", { class: "order-note" }, `Note: ${order.notes}`) : null,
        h("p", { class: "total" }, h("span", {}, "Total"), h("strong", {}, money(order.totalCents))),
      ),
      h(
        "footer",
        { class: "track-foot" },
        h("span", { "data-last": "" }),
        h("button", { type: "button", class: "linklike", "data-action": "signout" }, "Not you? Sign out"),
      ),
    );
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

function headline(o: Order): string {
  switch (o.status) {
    case "PLACED":
      return "Waiting for the restaurant to accept";
    case "ACCEPTED":
      return "Accepted — the kitchen is on it";
    case "PREPARING":
      return "Your food is being prepared";
    case "READY":
      return "Ready — waiting for pickup";
    case "PICKED_UP":
      return "On the way to you";
    case "DELIVERED":
      return "Delivered — enjoy!";
    case "REJECTED":
      return "The restaurant could not take your order";
    case "CANCELLED":
      return "Order cancelled";
    case "EXPIRED":
      return "The restaurant did not confirm in time";
  }
}

function etaText(o: Order, now: number): string {
  if (o.status === "PLACED")
    return `The restaurant has until ${timeOfDay(o.acceptBy)} to confirm (${clock(Date.parse(o.acceptBy) - now)} left).`;
  if ((o.status === "ACCEPTED" || o.status === "PREPARING") && o.readyBy) {
    const left = Date.parse(o.readyBy) - now;
    return left > 0
      ? `Ready around ${timeOfDay(o.readyBy)} · in about ${Math.max(1, Math.ceil(left / 60_000))} min`
      : `Should be ready any minute now (planned ${timeOfDay(o.readyBy)}).`;
  }
  if (o.status === "READY") return o.readyAt ? `Ready since ${timeOfDay(o.readyAt)}.` : "Ready.";
  if (o.status === "PICKED_UP") return o.pickedUpAt ? `Picked up at ${timeOfDay(o.pickedUpAt)}.` : "Picked up.";
  if (o.status === "DELIVERED") return o.deliveredAt ? `Delivered at ${timeOfDay(o.deliveredAt)}.` : "Delivered.";
  return STATUS_WORDS[o.status];
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
