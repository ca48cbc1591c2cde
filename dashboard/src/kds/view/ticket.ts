/**
 * One ticket card, built from the ticket and the actions it offers now (actions.ts): its buttons
 * are exactly the actions a key could do to it. Rebuilt only when what it shows changes; the
 * countdowns in it are updated in place (render.ts).
 */
import type { Order } from "../../../../schema/index.ts";
import { h } from "../../dom.ts";
import { dayAndTime, shortOrderNumber, timeOfDay } from "../../format.ts";
import { type Action, REJECT_REASONS, rejectMenuOffers, soldOutMenuOffers, ticketOffers } from "../actions.ts";
import { allergenParts, allergensIn } from "../allergens.ts";
import type { Ticket } from "../board.ts";
import { stationDone, stationLines } from "../stations.ts";
import { adjustEditor } from "./adjust.ts";
import { actionButton } from "./buttons.ts";
import { adjustmentLine, itemList } from "./items.ts";
import { allergyBadge, noteText } from "./notes.ts";
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
  now: number;
}

/** The card's words for a screen reader: number, state, and (scheduled) when it is for. */
function cardLabel(t: Ticket, now: number): string {
  const o = t.order;
  const when = o.requestedFor ? `, scheduled for ${dayAndTime(o.requestedFor, now)}` : "";
  return `Order ${shortOrderNumber(o.id)}, ${o.status.toLowerCase()}${when}`;
}

export function buildTicket(t: Ticket, v: ViewState, live: boolean, now: number): HTMLElement {
  const pending = v.pending.get(t.order.id);
  const why = !live ? NOT_LIVE_WHY : pending;
  const c: Card = { t, v, selected: v.screen.selected.has(t.order.id), pending, why, now };
  const o = t.order;
  const draft = v.screen.adjusting?.orderId === o.id ? v.screen.adjusting : null;
  const lines = stationLines(o, v.station);
  const allergens = [
    ...new Set([
      ...lines.flatMap((i) => allergensIn(o.items[i]?.notes, v.allergens)),
      ...allergensIn(o.notes, v.allergens),
    ]),
  ];
  const head = [cardTop(c), t.leaving ? goneBanner(t) : deadline(), scheduledLine(o, now), allergyBadge(allergens)];
  const body = [
    draft && !t.leaving ? adjustEditor(t, draft, why) : itemList(t, v, why, now),
    o.notes
      ? h(
          "p",
          { class: "order-note" },
          h("span", { "aria-hidden": "true" }, "✎ "),
          ...noteText(allergenParts(o.notes, v.allergens)),
        )
      : null,
    adjustmentLine(o),
    driverLine(o),
    prepLine(c),
    draft ? null : cardActions(c),
    pending ? h("div", { class: "pending-note" }, pending) : null,
  ];
  // A Scheduled strip card lies on its side: when on the left, what and its buttons on the right.
  const sideways = t.column === "scheduled";
  return h(
    "article",
    {
      class: cardClasses(c),
      "data-order-id": o.id,
      "data-status": o.status,
      "data-version": o.version,
      "aria-label": cardLabel(t, now),
      tabindex: -1,
    },
    ...(sideways
      ? [h("div", { class: "card-when" }, ...head), h("div", { class: "card-what" }, ...body)]
      : [...head, ...body]),
  );
}

/** Scheduled orders say when they are for, and (while waiting) when the kitchen starts them. */
function scheduledLine(o: Order, now: number): HTMLElement | null {
  if (!o.requestedFor) return null;
  const starts = o.fireAt && !o.firedAt ? ` · starts ${timeOfDay(o.fireAt)}` : o.firedAt ? " · started" : "";
  return h(
    "p",
    { class: "scheduled", "data-requested-for": o.requestedFor },
    h("span", { "aria-hidden": "true" }, "◷ "),
    `For ${dayAndTime(o.requestedFor, now)}${starts}`,
  );
}

function cardClasses({ t, selected, pending }: Card): string {
  const classes = ["ticket", `col-${t.column}`];
  if (!t.seen) classes.push("unseen");
  if (selected) classes.push("selected");
  if (t.leaving) classes.push("leaving");
  if (t.leaving?.alarm) classes.push("alarmed");
  if (pending) classes.push("pending");
  return classes.join(" ");
}

function cardTop({ t, v, selected }: Card): HTMLElement {
  const id = t.order.id;
  const short = shortOrderNumber(id);
  const fired = t.order.firedAt !== undefined && t.order.status !== "PLACED";
  return h(
    "div",
    { class: "ticket-top" },
    t.leaving
      ? null
      : actionButton({ kind: "select", orderId: id }, selected ? "☑" : "☐", {
          class: "select",
          "aria-pressed": String(selected),
          "aria-label": `Select order ${short}`,
          title: "Select (Space)",
        }),
    h("span", { class: "ticket-no", title: `Order ${id}` }, short),
    !t.seen ? h("span", { class: "new-badge" }, fired ? "FIRED" : "NEW") : null,
    v.station && stationDone(t.order, v.station)
      ? h("span", { class: "station-done" }, `✓ ${v.station.name.toUpperCase()} DONE`)
      : null,
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
    const soldOut = v.screen.rejectStep === "item";
    return h(
      "div",
      { class: "actions reasons" },
      h("div", { class: "reasons-title" }, soldOut ? "Which item ran out? It is 86'd too." : "Reject because…"),
      ...(soldOut ? soldOutMenuOffers(t) : rejectMenuOffers(orderId)).map((a, i) => commandButton(c, a, i)),
    );
  }
  const offers = ticketOffers(t, v.board, c.now);
  if (offers.accept.length === 0 && offers.steps.length === 0 && offers.tools.length === 0) return null;
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
    // Change items, print: last, small. Printing needs no live link (it is this device's).
    ...offers.tools.map((a) =>
      a.kind === "print"
        ? actionButton(a, "Print", { class: "act tool-act", title: "Kitchen ticket and bag label (P)" })
        : commandButton(c, a),
    ),
  );
}

/** A ticket's command button: disabled while not live or while the room has not answered. */
function commandButton(c: Card, a: Action, position?: number): HTMLButtonElement {
  const { label, style, title, aria } = look(a, position);
  return actionButton(a, label, {
    class: `act ${style}`,
    disabled: c.why !== undefined,
    title: c.why ?? title,
    "aria-label": aria,
  });
}

/** How each command looks on a card; `position` numbers a menu's entries as their keys do. */
function look(a: Action, position = 0): { label: string; style: string; title?: string; aria?: string } {
  switch (a.kind) {
    case "accept":
      return { label: `${a.prepMinutes}m`, style: "accept", title: `Accept, ready in ${a.prepMinutes} min` };
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
      if (a.soldOut) return { label: `${position + 1} ${a.soldOut} — reject + 86`, style: "reason" };
      if (a.reason === "Item sold out") return { label: "↵ Just reject", style: "reason" };
      return { label: `${REJECT_REASONS.indexOf(a.reason) + 1} ${a.reason}`, style: "reason" };
    case "pick-sold-out":
      return { label: `${REJECT_REASONS.indexOf("Item sold out") + 1} Item sold out…`, style: "reason" };
    case "close-reject":
      return { label: "Back", style: "ghost" };
    case "open-reject":
      return position > 0 ? { label: "Back (Esc)", style: "ghost" } : { label: "Reject", style: "ghost danger-text" };
    case "recall":
      return { label: "↶ Recall", style: "start", title: "Back to cooking (U) — within 10 min of ready" };
    case "open-adjust":
      return { label: "✎ Items", style: "tool-act", title: "Change items: take some off (E)" };
    default:
      return { label: a.kind, style: "" };
  }
}
