/**
 * Rendering of the kitchen board: the connection, the columns and their cards, the bars. Cards
 * are keyed by order id and rebuilt only when what they show changes; countdowns are updated in
 * place every second.
 */
import type { LinkStatus } from "../../connection.ts";
import { setText } from "../../dom.ts";
import { age, clock, deadlineOf, deadlineParts, URGENCY_LABEL, type Urgency } from "../../format.ts";
import { COLUMNS, type Ticket, ticketsIn } from "../board.ts";
import { renderAlarm, renderBulk, renderNotices } from "./bars.ts";
import type { BoardDom } from "./layout.ts";
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
  for (const c of COLUMNS) {
    const col = dom.columns[c.id];
    const tickets = ticketsIn(v.board, c.id);
    const active = tickets.filter((t) => !t.leaving);
    setText(col.count, String(active.length));
    const late = active.filter((t) => deadlineOf(t.order, now)?.urgency === "late").length;
    setText(col.late, late > 0 ? `■ ${late} late` : "");
    reconcile(col.list, tickets, v, now, live);
  }
  renderAlarm(dom.alarm, v, now);
  renderBulk(dom.bulk, v, live);
  renderNotices(dom.notices, v.screen.notices);
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
  setText(dom.soundButton, v.sound === "off" ? "♪ Enable sound" : v.sound === "muted" ? "♪ Sound muted" : "♪ Sound on");
  dom.soundButton.setAttribute("aria-pressed", String(v.sound === "on"));
  dom.soundButton.classList.toggle("attention", v.sound === "off");
  dom.rushButton.hidden = !v.rush.available;
  dom.rushButton.disabled = v.rush.running;
  setText(dom.rushButton, v.rush.running ? `⚡ Rush running… ${v.rush.placed} placed` : "⚡ Simulate rush");
}

type CardEl = HTMLElement & { _sig?: string };

/** Everything a card shows besides its countdown: it is rebuilt when this changes. */
function cardSignature(t: Ticket, v: ViewState, live: boolean): string {
  const id = t.order.id;
  return JSON.stringify([
    t.order.version,
    t.leaving?.alarm ?? null,
    !!t.leaving,
    t.seen,
    v.screen.selected.has(id),
    v.screen.focused === id,
    v.screen.rejectMenu === id,
    v.pending.get(id) ?? null,
    live,
  ]);
}

function reconcile(list: HTMLElement, tickets: Ticket[], v: ViewState, now: number, live: boolean): void {
  const existing = new Map<string, CardEl>();
  for (const el of Array.from(list.children) as CardEl[]) existing.set(el.dataset.orderId ?? "", el);
  const wanted: CardEl[] = [];
  for (const t of tickets) {
    const sig = cardSignature(t, v, live);
    let el = existing.get(t.order.id);
    if (!el || el._sig !== sig) {
      const fresh = buildTicket(t, v, live) as CardEl;
      fresh._sig = sig;
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    existing.delete(t.order.id);
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
  const d = deadlineOf(t.order, now);
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
