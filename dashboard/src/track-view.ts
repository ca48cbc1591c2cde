/**
 * The tracking page's markup, redrawn when the order (or the connection) changes: status and
 * reason, driver, timeline, items. The ETA and "updated" lines are filled in by the page's clock.
 */
import type { Order } from "../../schema/index.ts";
import type { LinkStatus } from "./connection.ts";
import { fill, h } from "./dom.ts";
import { clock, dayAndTime, money, shortOrderNumber, STATUS_WORDS, timeOfDay } from "./format.ts";
import { orderChanges, type TimelineStep, timeline } from "./tracking-state.ts";

const LINK_TEXT: Record<LinkStatus, string> = {
  connecting: "Connecting…",
  syncing: "Syncing…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

export function drawTracking(root: HTMLElement, order: Order, link: LinkStatus, now: number): void {
  fill(
    root,
    topBar(link),
    h(
      "main",
      { class: "track-main" },
      hero(order, now),
      changesSection(order),
      driverSection(order),
      h("ol", { class: "timeline", "aria-label": "Progress" }, ...timeline(order).map(stepItem)),
      itemsSection(order),
    ),
    h(
      "footer",
      { class: "track-foot" },
      h("span", { "data-last": "" }),
      h("button", { type: "button", class: "linklike", "data-action": "signout" }, "Not you? Sign out"),
    ),
  );
}

function topBar(link: LinkStatus): HTMLElement {
  return h(
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
      { class: "link small", "data-status": link, role: "status" },
      h("span", { class: "link-icon", "aria-hidden": "true" }),
      h("span", { class: "link-word" }, LINK_TEXT[link]),
    ),
  );
}

function hero(order: Order, now: number): HTMLElement {
  return h(
    "section",
    { class: "track-hero", "data-status": order.status },
    h("p", { class: "track-no" }, `Order ${shortOrderNumber(order.id)}`),
    h("h1", { class: "track-headline" }, headline(order)),
    order.requestedFor
      ? h(
          "p",
          { class: "track-scheduled", "data-scheduled": order.requestedFor },
          h("span", { "aria-hidden": "true" }, "◷ "),
          `Scheduled for ${dayAndTime(order.requestedFor, now)}`,
        )
      : null,
    h("p", { class: "track-eta", "data-eta": "" }),
    order.recalledAt && order.status === "PREPARING"
      ? h("p", { class: "track-recalled" }, "The kitchen took your order back for a final touch.")
      : null,
    order.prepMinutes && order.status !== "REJECTED"
      ? h("p", { class: "track-prep", "data-prep": order.prepMinutes }, `Prep time ${order.prepMinutes} min`)
      : null,
    order.status === "CANCELLED" || order.status === "REJECTED"
      ? h(
          "p",
          { class: "track-reason", "data-reason": "" },
          `Reason: ${order.cancelReason ?? order.rejectReason ?? "none given"}`,
          order.cancelledBy ? ` (cancelled by ${canceller(order.cancelledBy.role)})` : "",
        )
      : null,
  );
}

function canceller(role: string): string {
  return role === "customer" ? "you" : role === "dispatch" ? "support" : role;
}

function driverSection(order: Order): HTMLElement | null {
  const driver = order.driver;
  if (!driver) return null;
  return h(
    "section",
    { class: "track-driver", "data-driver": driver.id },
    h("span", { class: "driver-icon", "aria-hidden": "true" }, "➜"),
    h("div", {}, h("strong", {}, driver.name), h("span", {}, driverText(order))),
  );
}

function driverText(order: Order): string {
  if (order.status === "PICKED_UP") return " is on the way to you";
  if (order.status === "DELIVERED") return " delivered your order";
  if (order.driver?.arrivedAt) return " is at the restaurant";
  if (order.driver?.etaMinutes !== undefined)
    return ` is heading to the restaurant · ETA ${order.driver.etaMinutes} min`;
  return " is your driver";
}

const STEP_DOT: Record<TimelineStep["state"], string> = { done: "✓", stopped: "✕", current: "●", todo: "○" };

function stepItem(s: TimelineStep): HTMLElement {
  return h(
    "li",
    { class: `step step-${s.state}`, "data-step": s.status },
    h("span", { class: "step-dot", "aria-hidden": "true" }, STEP_DOT[s.state]),
    h("span", { class: "step-label" }, s.label),
    s.at ? h("time", { class: "step-time", datetime: s.at }, timeOfDay(s.at)) : null,
    s.detail ? h("span", { class: "step-detail" }, s.detail) : null,
  );
}

/** What the kitchen changed after accepting (items removed or reduced), why, and the total before and now. */
function changesSection(order: Order): HTMLElement | null {
  const changes = orderChanges(order);
  if (!changes) return null;
  return h(
    "section",
    { class: "track-changes", "data-changes": changes.lines.length, "aria-labelledby": "track-changes-title" },
    h("h2", { id: "track-changes-title" }, "The restaurant changed your order"),
    h(
      "ul",
      {},
      ...changes.lines.map((c) =>
        h(
          "li",
          {},
          h("strong", {}, c.name),
          c.to === 0 ? " — removed" : ` — ${c.from} → ${c.to}`,
          h("span", { class: "change-why" }, ` · ${c.reason} · ${timeOfDay(c.at)}`),
        ),
      ),
    ),
    h(
      "p",
      { class: "change-total", "data-total": order.totalCents },
      `New total ${money(order.totalCents)}`,
      h("span", { class: "was" }, ` (was ${money(changes.totalBefore)})`),
    ),
  );
}

function itemsSection(order: Order): HTMLElement {
  return h(
    "section",
    { class: "track-items", "aria-labelledby": "track-items-title" },
    h("h2", { id: "track-items-title" }, "Your order"),
    h(
      "ul",
      {},
      ...order.items.map((i) =>
        h(
          "li",
          { class: i.quantity === 0 ? "removed" : undefined },
          h("span", { class: "qty" }, `${i.quantity}×`),
          h(
            "span",
            { class: "item-name" },
            h("span", { class: "name-text" }, i.name),
            i.quantity === 0 ? h("span", { class: "item-note" }, "removed by the restaurant") : null,
            i.notes ? h("span", { class: "item-note" }, i.notes) : null,
          ),
          h("span", { class: "price" }, money(i.quantity * i.unitPriceCents)),
        ),
      ),
    ),
    order.notes ? h("p", { class: "order-note" }, `Note: ${order.notes}`) : null,
    h(
      "p",
      { class: "total", "data-total": order.totalCents },
      h("span", {}, "Total"),
      h("strong", {}, money(order.totalCents)),
    ),
  );
}

function headline(o: Order): string {
  switch (o.status) {
    case "PLACED":
      return "Waiting for the restaurant to accept";
    case "ACCEPTED":
      return o.fireAt && !o.firedAt ? "Confirmed — scheduled for later" : "Accepted — the kitchen is on it";
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

export function etaText(o: Order, now: number): string {
  if (o.requestedFor && !o.firedAt && o.fireAt && o.status === "ACCEPTED")
    return `Confirmed. The kitchen starts it at ${timeOfDay(o.fireAt)}, to be ready for ${timeOfDay(o.requestedFor)}.`;
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
