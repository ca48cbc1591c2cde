/**
 * Rendering of the kitchen board: the connection, the columns and their cards, the bars. Cards
 * are keyed by order id and rebuilt only when what they show changes; countdowns are updated in
 * place every second.
 */
import type { LinkStatus } from "../../connection.ts";
import { setText } from "../../dom.ts";
import { age, clock, deadlineOf, deadlineParts, URGENCY_LABEL, type Urgency } from "../../format.ts";
import { allDay } from "../allday.ts";
import { COLUMNS, type Ticket } from "../board.ts";
import { isPossible } from "../actions.ts";
import { ticketsShown } from "../stations.ts";
import { renderAlarm, renderBulk, renderNotices } from "./bars.ts";
import { renderAllDay, renderAvailability, renderDelivery, renderSoldOut } from "./kitchen-bar.ts";
import type { BoardDom, LaneDom } from "./layout.ts";
import { renderPanel } from "./panel.ts";
import type { ViewState } from "./state.ts";
import { buildTicket } from "./ticket.ts";

const LINK_WORDS: Record<LinkStatus, string> = {
  connecting: "CONNECTING",
  syncing: "SYNCING",
  live: "LIVE",
  reconnecting: "RECONNECTING",
  offline: "OFFLINE",
};

export function renderBoard(dom: BoardDom, v: ViewState, now: number): void {
  const live = v.link === "live";
  renderTopBar(dom, v, now);
  const merchant = v.board.merchant;
  renderAvailability(dom.availabilityButton, dom.availability, merchant, live);
  renderSoldOut(dom.soldOut, merchant, now, live);
  renderDelivery(dom.delivery, v.board.delivery);
  renderAllDay(dom.allDay, allDay(v.board, v.station), v.station);
  const scheduled = ticketsShown(v.board, "scheduled", v.station);
  dom.strip.section.hidden = scheduled.length === 0;
  renderLane(dom.strip, scheduled, v, now, live);
  for (const c of COLUMNS) renderLane(dom.columns[c.id], ticketsShown(v.board, c.id, v.station), v, now, live);
  renderAlarm(dom.alarm, v, now);
  renderBulk(dom.bulk, v, live);
  renderNotices(dom.notices, v.screen.notices);
  renderPanel(
    dom.panel,
    {
      open: v.screen.panel,
      merchant,
      station: v.screen.station,
      autoPrint: v.autoPrint,
      itemNames: itemNames(v),
      pending: v.kitchenPending,
      live,
    },
    now,
  );
  dom.panelButton.setAttribute("aria-expanded", String(v.screen.panel));
}

function renderLane(lane: LaneDom, tickets: Ticket[], v: ViewState, now: number, live: boolean): void {
  const active = tickets.filter((t) => !t.leaving);
  setText(lane.count, String(active.length));
  const late = active.filter((t) => deadlineOf(t.order, now)?.urgency === "late").length;
  setText(lane.late, late > 0 ? `■ ${late} late` : "");
  reconcile(lane.list, tickets, v, now, live);
}

/** Item names on the board, for the 86 input's suggestions. */
function itemNames(v: ViewState): string[] {
  const names = Object.values(v.board.tickets).flatMap((t) => t.order.items.map((i) => i.name.trim()));
  return [...new Set(names)].sort((a, b) => a.localeCompare(b)).slice(0, 200);
}

/** The connection, always visible, in words and with an icon shape per state; sound and rush. */
function renderTopBar(dom: BoardDom, v: ViewState, now: number): void {
  const live = v.link === "live";
  dom.link.dataset.status = v.link;
  setText(dom.linkWord, LINK_WORDS[v.link]);
  const last =
    v.board.lastEventAt === null
      ? "no events yet"
      : `last event ${age(now - v.board.lastEventAt)}${now - v.board.lastEventAt < 5000 ? "" : " ago"}`;
  setText(dom.linkDetail, live || v.downSince === null ? last : `down ${clock(now - v.downSince)} · ${last}`);
  dom.notLive.hidden = live;
  if (!live) {
    setText(
      dom.notLive,
      v.link === "offline"
        ? "⚠ OFFLINE — this screen is not receiving orders. Actions are disabled until it is live again."
        : "⚠ Not live — reconnecting. Actions are disabled until this screen is back in sync.",
    );
  }
  setText(dom.soundButton, v.sound === "off" ? "♪ Enable sound" : v.sound === "muted" ? "♪ Muted" : "♪ Sound on");
  dom.soundButton.setAttribute("aria-pressed", String(v.sound === "on" || v.sound === "asleep"));
  dom.soundButton.dataset.sound = v.sound;
  dom.soundButton.title =
    v.sound === "asleep" ? "Sound is on for this screen; it wakes at the first touch or key (a browser rule)" : "";
  dom.soundButton.classList.toggle("attention", v.sound === "off");
  dom.stationTag.hidden = v.station === null;
  setText(dom.stationTag, v.station ? `◎ ${v.station.name}` : "");
  dom.stationTag.title = v.station ? `This screen shows the ${v.station.name} station` : "";
  if (v.board.merchant) setText(dom.kitchen, v.board.merchant.name);
  dom.rushButton.hidden = !v.rush.available;
  dom.rushButton.disabled = v.rush.running;
  setText(dom.rushButton, v.rush.running ? `⚡ Rush… ${v.rush.placed} placed` : "⚡ Rush");
}

type CardEl = HTMLElement & { _sig?: string };

/**
 * Everything a card shows besides its countdown and focus: it is rebuilt when this changes. Focus
 * is not in it — the card keeps keyboard focus while the cursor comes and goes (roving tabindex).
 */
function cardSignature(t: Ticket, v: ViewState, live: boolean, now: number): string {
  const id = t.order.id;
  const s = v.screen;
  return JSON.stringify([
    t.order.version,
    t.leaving?.alarm ?? null,
    !!t.leaving,
    t.seen,
    s.selected.has(id),
    s.rejectMenu === id ? s.rejectStep : null,
    s.adjusting?.orderId === id ? s.adjusting.quantities : null,
    v.pending.get(id) ?? null,
    live,
    v.station?.id ?? null,
    v.allergens,
    // The recall button goes when the recall window closes.
    t.order.status === "READY" && isPossible({ kind: "recall", orderId: id }, v.board, now),
  ]);
}

function reconcile(list: HTMLElement, tickets: Ticket[], v: ViewState, now: number, live: boolean): void {
  const existing = new Map<string, CardEl>();
  for (const el of Array.from(list.children) as CardEl[]) existing.set(el.dataset.orderId ?? "", el);
  const wanted: CardEl[] = [];
  for (const t of tickets) {
    const sig = cardSignature(t, v, live, now);
    let el = existing.get(t.order.id);
    if (!el || el._sig !== sig) {
      const fresh = buildTicket(t, v, live, now) as CardEl;
      fresh._sig = sig;
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    existing.delete(t.order.id);
    const focused = v.screen.focused === t.order.id;
    el.classList.toggle("focused", focused);
    updateTimers(el, t, now);
    wanted.push(el);
  }
  for (const el of existing.values()) el.remove();
  // Reorder only when needed, so the DOM (and any hover) stays put on ticks.
  wanted.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
  });
}

function updateTimers(el: HTMLElement, t: Ticket, now: number): void {
  const ageEl = el.querySelector<HTMLElement>("[data-age]");
  if (ageEl) setText(ageEl, age(now - Date.parse(t.order.placedAt)));
  const dl = el.querySelector<HTMLElement>("[data-deadline]");
  if (!dl || t.leaving) return;
  const urgency = showDeadline(dl, t, now);
  if (el.dataset.urgency !== urgency) el.dataset.urgency = urgency;
}

/** New and cooking: the countdown to acceptBy / readyBy. Ready: how long the bag has waited. */
function showDeadline(dl: HTMLElement, t: Ticket, now: number): Urgency {
  const show = (icon: string, word: string, caption: string, time: string) => {
    setText(dl.querySelector(".dl-icon")!, icon);
    setText(dl.querySelector(".dl-word")!, word);
    setText(dl.querySelector(".dl-caption")!, caption);
    setText(dl.querySelector(".dl-time")!, time);
  };
  const o = t.order;
  if (t.column === "scheduled" && o.status !== "PLACED" && o.fireAt) {
    show("◷", "Scheduled", "starts in", clock(Date.parse(o.fireAt) - now));
    return "ok";
  }
  const d = deadlineOf(o, now);
  if (d) {
    const { caption, time } = deadlineParts(d);
    show(URGENCY_LABEL[d.urgency].icon, URGENCY_LABEL[d.urgency].word, caption, time);
    return d.urgency;
  }
  if (t.order.status !== "READY") return "ok";
  const waited = now - Date.parse(t.order.readyAt ?? t.order.updatedAt);
  show("◷", "Waiting", "for", clock(waited));
  return waited > 10 * 60_000 ? "soon" : "ok";
}
