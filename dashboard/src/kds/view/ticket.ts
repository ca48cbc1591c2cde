/**
 * One ticket card, built from the ticket and the actions it offers now (actions.ts): its buttons
 * are exactly the actions a key could do to it. Rebuilt only when what it shows changes; the
 * countdowns in it are updated in place (render.ts).
 */
import type { Order } from "../../../../schema/index.ts";
import { h } from "../../dom.ts";
import { shortOrderNumber, timeOfDay } from "../../format.ts";
import { type Action, REJECT_REASONS, rejectMenuOffers, ticketOffers } from "../actions.ts";
import type { Ticket } from "../board.ts";
import { actionButton } from "./buttons.ts";
import { NOT_LIVE_WHY, type ViewState } from "./state.ts";

/** One card's view of the view state. */
interface Card {
  t: Ticket;
  v: ViewState;
  selected: boolean;
  /** "Accepting…" while a request about it is in flight. */
  pending: string | undefined;
  /** Why its buttons are disabled (not live, or waiting for the room), if they are. */
  why: string | undefined;
}

export function buildTicket(t: Ticket, v: ViewState, live: boolean): HTMLElement {
  const pending = v.pending.get(t.order.id);
  const c: Card = { t, v, selected: v.screen.selected.has(t.order.id), pending, why: !live ? NOT_LIVE_WHY : pending };
  const o = t.order;
  return h(
    "article",
    {
      class: cardClasses(c),
      "data-order-id": o.id,
      "data-status": o.status,
      "data-version": o.version,
      "aria-label": `Order ${shortOrderNumber(o.id)}, ${o.status.toLowerCase()}`,
    },
    cardTop(c),
    t.leaving ? goneBanner(t) : deadline(),
    itemList(o),
    o.notes ? h("p", { class: "order-note" }, h("span", { "aria-hidden": "true" }, "✎ "), o.notes) : null,
    driverLine(o),
    prepLine(c),
    cardActions(c),
    pending ? h("div", { class: "pending-note" }, pending) : null,
  );
}

function cardClasses({ t, v, selected, pending }: Card): string {
  const classes = ["ticket", `col-${t.column}`];
  if (!t.seen) classes.push("unseen");
  if (selected) classes.push("selected");
  if (v.screen.focused === t.order.id) classes.push("focused");
  if (t.leaving) classes.push("leaving");
  if (t.leaving?.alarm) classes.push("alarmed");
  if (pending) classes.push("pending");
  return classes.join(" ");
}

function cardTop({ t, selected }: Card): HTMLElement {
  const id = t.order.id;
  return h(
    "div",
    { class: "ticket-top" },
    t.leaving
      ? null
      : actionButton({ kind: "select", orderId: id }, selected ? "☑" : "☐", {
          class: "select",
          "aria-pressed": String(selected),
          title: "Select (Space)",
        }),
    h("span", { class: "ticket-no", title: `Order ${id}` }, shortOrderNumber(id)),
    !t.seen ? h("span", { class: "new-badge" }, "NEW") : null,
    h("span", { class: "ticket-age", title: `placed ${timeOfDay(t.order.placedAt)}` }, h("span", { "data-age": "" })),
  );
}

function goneBanner(t: Ticket): HTMLElement {
  const o = t.order;
  const reason = o.cancelReason ?? o.rejectReason;
  return h(
    "div",
    { class: `gone-banner${t.leaving?.alarm ? " gone-alarm" : ""}`, "data-gone": o.status },
    h("strong", {}, t.leaving?.alarm ? "⚠ CANCELLED WHILE COOKING — STOP" : goneText(o)),
    reason ? h("span", { class: "gone-reason" }, `“${reason}”`) : null,
  );
}

function goneText(order: Order): string {
  switch (order.status) {
    case "CANCELLED":
      return `✕ CANCELLED${order.cancelledBy ? ` by ${order.cancelledBy.role}` : ""}`;
    case "REJECTED":
      return "✕ REJECTED";
    case "EXPIRED":
      return "✕ EXPIRED — not accepted in time";
    default:
      return `✕ ${order.status}`;
  }
}

/** Filled in by the countdown update every second. */
function deadline(): HTMLElement {
  return h(
    "div",
    { class: "deadline", "data-deadline": "" },
    h("span", { class: "dl-icon", "aria-hidden": "true" }),
    h("span", { class: "dl-word" }),
    h("span", { class: "dl-clock" }, h("span", { class: "dl-caption" }), h("span", { class: "dl-time" })),
  );
}

function itemList(o: Order): HTMLElement {
  return h(
    "ul",
    { class: "items" },
    ...o.items.map((item) =>
      h(
        "li",
        {},
        h("span", { class: "qty" }, `${item.quantity}×`),
        h("span", { class: "item-name" }, item.name),
        item.notes ? h("span", { class: "item-note" }, `↳ ${item.notes}`) : null,
      ),
    ),
  );
}

function driverLine(o: Order): HTMLElement | null {
  const d = o.driver;
  if (!d) return o.status === "READY" ? h("div", { class: "driver none" }, "Waiting for a driver") : null;
  return h(
    "div",
    { class: `driver${d.arrivedAt ? " arrived" : ""}`, "data-driver": d.id },
    d.arrivedAt ? h("strong", {}, `✔ ${d.name} is here`) : h("span", {}, `➜ Driver ${d.name}`),
    !d.arrivedAt && d.etaMinutes !== undefined ? h("span", { class: "eta" }, ` · ETA ${d.etaMinutes} min`) : null,
  );
}

/** While cooking: the prep time, with −5 / +5 where the contract lets the merchant change it. */
function prepLine(c: Card): HTMLElement | null {
  const o = c.t.order;
  if (!o.prepMinutes || c.t.column !== "cooking" || c.t.leaving) return null;
  const [minus, plus] = ticketOffers(c.t, c.v.board).prep.map((a) => commandButton(c, a));
  return h(
    "div",
    { class: "prep" },
    minus,
    h(
      "span",
      { class: "prep-text", "data-prep": o.prepMinutes },
      `Prep ${o.prepMinutes} min${o.readyBy ? ` · ${timeOfDay(o.readyBy)}` : ""}`,
    ),
    plus,
  );
}

function cardActions(c: Card): HTMLElement | null {
  const { t, v } = c;
  const orderId = t.order.id;
  if (t.leaving?.alarm) {
    const ack = actionButton({ kind: "acknowledge", orderId }, "Got it — binned", { class: "act danger wide" });
    return h("div", { class: "actions" }, ack);
  }
  if (t.leaving) return null;
  if (v.screen.rejectMenu === orderId) {
    return h(
      "div",
      { class: "actions reasons" },
      h("div", { class: "reasons-title" }, "Reject because…"),
      ...rejectMenuOffers(orderId).map((a) => commandButton(c, a)),
    );
  }
  const offers = ticketOffers(t, v.board);
  if (offers.accept.length === 0 && offers.steps.length === 0) return null;
  return h(
    "div",
    { class: "actions" },
    offers.accept.length > 0
      ? h(
          "div",
          { class: "accept-group", role: "group", "aria-label": "Accept with prep time" },
          h("span", { class: "group-label" }, "Accept · prep time"),
          ...offers.accept.map((a) => commandButton(c, a)),
        )
      : null,
    ...offers.steps.map((a) => commandButton(c, a)),
  );
}

/** A ticket's command button: disabled while not live or while the room has not answered. */
function commandButton(c: Card, a: Action): HTMLButtonElement {
  const { label, style, title, aria } = look(a);
  return actionButton(a, label, {
    class: `act ${style}`,
    disabled: c.why !== undefined,
    title: c.why ?? title,
    "aria-label": aria,
  });
}

/** How each command looks on a card. */
function look(a: Action): { label: string; style: string; title?: string; aria?: string } {
  switch (a.kind) {
    case "accept":
      return { label: `${a.prepMinutes}m`, style: "accept", title: `Accept, ready in ${a.prepMinutes} min` };
    case "open-reject":
      return { label: "Reject", style: "ghost danger-text" };
    case "start":
      return { label: "▶ Start", style: "start" };
    case "ready":
      return { label: "✓ Ready", style: "ready" };
    case "prep-time": {
      const sign = a.delta < 0 ? "−" : "+";
      const aria = `Prep time ${a.delta < 0 ? "minus" : "plus"} ${Math.abs(a.delta)} minutes`;
      return { label: `${sign}${Math.abs(a.delta)}`, style: "small", aria };
    }
    case "reject":
      return { label: `${REJECT_REASONS.indexOf(a.reason) + 1} ${a.reason}`, style: "reason" };
    case "close-reject":
      return { label: "Back", style: "ghost" };
    default:
      return { label: a.kind, style: "" };
  }
}
