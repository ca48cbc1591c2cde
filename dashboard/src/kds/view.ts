/**
 * Rendering of the kitchen board: ticket cards, columns, the status bar, the alarm banner, the
 * bulk bar and notices. Cards are keyed by order id and rebuilt only when what they show
 * changes; countdowns are updated in place every second.
 */
import { canTransition, NON_STATUS_CHANGES, type Order } from "../../../schema/index.ts";
import { COLUMNS, ticketsIn, type BoardState, type Column, type Ticket } from "./board.ts";
import { h, setText } from "../dom.ts";
import {
  age,
  clock,
  deadlineOf,
  deadlineParts,
  shortOrderNumber,
  timeOfDay,
  URGENCY_LABEL,
  type Urgency,
} from "../format.ts";
import { QUICK_PREP_MINUTES, SHORTCUTS } from "./keys.ts";
import type { LinkStatus } from "../connection.ts";

/** Reasons a kitchen gives when it cannot take an order (keys 1–4 while the menu is open). */
export const REJECT_REASONS = ["Too busy right now", "Item sold out", "Closing soon", "Kitchen problem"] as const;

export interface Notice {
  id: number;
  tone: "ok" | "warn" | "error";
  title: string;
  lines: Array<{ ok: boolean; orderId?: string; text: string }>;
  until: number | null;
}

/** What the board shows besides the room's data: this screen's own UI state. */
export interface ViewState {
  board: BoardState;
  link: LinkStatus;
  downSince: number | null;
  focused: string | null;
  selected: ReadonlySet<string>;
  rejectMenu: string | null;
  pending: ReadonlyMap<string, string>;
  notices: readonly Notice[];
  sound: "off" | "on" | "muted";
  rush: { available: boolean; running: boolean; placed: number };
  kitchen: string;
  staff: string;
}

// ------------------------------------------------------------------ layout

export interface BoardDom {
  root: HTMLElement;
  /** The kitchen's name in the top bar (its id until the first SNAPSHOT names it). */
  kitchen: HTMLElement;
  link: HTMLElement;
  linkWord: HTMLElement;
  linkDetail: HTMLElement;
  soundButton: HTMLButtonElement;
  rushButton: HTMLButtonElement;
  notLive: HTMLElement;
  alarm: HTMLElement;
  columns: Record<Column, { section: HTMLElement; count: HTMLElement; late: HTMLElement; list: HTMLElement }>;
  bulk: HTMLElement;
  notices: HTMLElement;
  help: HTMLElement;
}

export function buildBoard(kitchen: string, staff: string): BoardDom {
  const linkWord = h("span", { class: "link-word" }, "CONNECTING");
  const linkDetail = h("span", { class: "link-detail" });
  const link = h(
    "div",
    { class: "link", id: "link-status", role: "status", "data-status": "connecting" },
    h("span", { class: "link-icon", "aria-hidden": "true" }),
    linkWord,
    linkDetail,
  );
  const soundButton = h("button", { class: "tool", type: "button", "data-action": "sound" }, "Enable sound");
  const rushButton = h(
    "button",
    { class: "tool rush", type: "button", "data-action": "rush", hidden: true },
    "Simulate rush",
  );
  const columns = {} as BoardDom["columns"];
  const main = h("main", { class: "board" });
  for (const c of COLUMNS) {
    const count = h("span", { class: "col-count" }, "0");
    const late = h("span", { class: "col-late" });
    const list = h("div", { class: "tickets" });
    const section = h(
      "section",
      { class: `column col-${c.id}`, "data-column": c.id, "aria-label": c.title },
      h("h2", { class: "col-head" }, h("span", { class: "col-title" }, c.title), count, late),
      list,
    );
    columns[c.id] = { section, count, late, list };
    main.appendChild(section);
  }
  const help = h(
    "footer",
    { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
    ...SHORTCUTS.map((s) => h("span", { class: "shortcut" }, h("kbd", {}, s.keys), " ", s.what)),
  );
  const root = h(
    "div",
    { class: "kds" },
    h(
      "header",
      { class: "topbar" },
      h(
        "div",
        { class: "brand" },
        h("span", { class: "logo", "aria-hidden": "true" }, "▤"),
        h("span", { class: "brand-name" }, "Ticket Rail"),
        h("span", { class: "kitchen" }, kitchen),
      ),
      link,
      h(
        "div",
        { class: "tools" },
        rushButton,
        soundButton,
        h("span", { class: "staff" }, staff),
        h("button", { class: "tool", type: "button", "data-action": "signout" }, "Sign out"),
      ),
    ),
    h("div", { class: "not-live", role: "alert", hidden: true }),
    h("div", { class: "alarm", role: "alert", hidden: true }),
    main,
    h("div", { class: "bulk", hidden: true }),
    h("aside", { class: "notices", "aria-live": "polite" }),
    help,
  );
  return {
    root,
    kitchen: root.querySelector(".kitchen")!,
    link,
    linkWord,
    linkDetail,
    soundButton,
    rushButton,
    notLive: root.querySelector(".not-live")!,
    alarm: root.querySelector(".alarm")!,
    columns,
    bulk: root.querySelector(".bulk")!,
    notices: root.querySelector(".notices")!,
    help,
  };
}

// ------------------------------------------------------------------ render

const LINK_WORDS: Record<LinkStatus, string> = {
  connecting: "CONNECTING",
  syncing: "SYNCING",
  live: "LIVE",
  reconnecting: "RECONNECTING",
  offline: "OFFLINE",
};

export function renderBoard(dom: BoardDom, v: ViewState, now: number): void {
  const live = v.link === "live";
  // Connection: always visible, in words and with an icon shape per state.
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
  renderNotices(dom.notices, v.notices);
}

type CardEl = HTMLElement & { _sig?: string };

function reconcile(list: HTMLElement, tickets: Ticket[], v: ViewState, now: number, live: boolean): void {
  const existing = new Map<string, CardEl>();
  for (const el of Array.from(list.children) as CardEl[]) existing.set(el.dataset.orderId ?? "", el);
  const wanted: CardEl[] = [];
  for (const t of tickets) {
    const sig = JSON.stringify([
      t.order.version,
      t.leaving?.alarm ?? null,
      !!t.leaving,
      t.seen,
      v.selected.has(t.order.id),
      v.focused === t.order.id,
      v.rejectMenu === t.order.id,
      v.pending.get(t.order.id) ?? null,
      live,
    ]);
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
  if (!dl) return;
  if (t.leaving) return;
  const d = deadlineOf(t.order, now);
  let urgency: Urgency = "ok";
  if (d) {
    urgency = d.urgency;
    const label = URGENCY_LABEL[d.urgency];
    setText(dl.querySelector(".dl-icon")!, label.icon);
    const parts = deadlineParts(d);
    setText(dl.querySelector(".dl-word")!, label.word);
    setText(dl.querySelector(".dl-caption")!, parts.caption);
    setText(dl.querySelector(".dl-time")!, parts.time);
  } else if (t.order.status === "READY") {
    const waited = now - Date.parse(t.order.readyAt ?? t.order.updatedAt);
    urgency = waited > 10 * 60_000 ? "soon" : "ok";
    setText(dl.querySelector(".dl-icon")!, "◷");
    setText(dl.querySelector(".dl-word")!, "Waiting");
    setText(dl.querySelector(".dl-caption")!, "for");
    setText(dl.querySelector(".dl-time")!, clock(waited));
  }
  if (el.dataset.urgency !== urgency) el.dataset.urgency = urgency;
}

function goneText(order: Order): string {
  switch (order.status) {
    case "CANCELLED":
      return `✕ CANCELLED${order.cancelledBy ? ` by ${order.cancelledBy.role === "customer" ? "customer" : order.cancelledBy.role}` : ""}`;
    case "REJECTED":
      return "✕ REJECTED";
    case "EXPIRED":
      return "✕ EXPIRED — not accepted in time";
    default:
      return `✕ ${order.status}`;
  }
}

function buildTicket(t: Ticket, v: ViewState, live: boolean): HTMLElement {
  const o = t.order;
  const id = o.id;
  const selected = v.selected.has(id);
  const pending = v.pending.get(id);
  const disabled = !live || pending !== undefined;
  const why = !live ? "Not live: actions are disabled" : pending ? pending : undefined;
  const btn = (action: string, label: string, cls: string, extra: Record<string, string | number> = {}) =>
    h(
      "button",
      {
        type: "button",
        class: `act ${cls}`,
        "data-action": action,
        "data-order-id": id,
        disabled,
        title: why,
        ...extra,
      },
      label,
    );

  const classes = ["ticket", `col-${t.column}`];
  if (!t.seen) classes.push("unseen");
  if (selected) classes.push("selected");
  if (v.focused === id) classes.push("focused");
  if (t.leaving) classes.push("leaving");
  if (t.leaving?.alarm) classes.push("alarmed");
  if (pending) classes.push("pending");

  const card = h("article", {
    class: classes.join(" "),
    "data-order-id": id,
    "data-status": o.status,
    "data-version": o.version,
    "aria-label": `Order ${shortOrderNumber(id)}, ${o.status.toLowerCase()}`,
  });

  const top = h(
    "div",
    { class: "ticket-top" },
    t.leaving
      ? null
      : h(
          "button",
          {
            type: "button",
            class: "select",
            "data-action": "select",
            "data-order-id": id,
            "aria-pressed": String(selected),
            title: "Select (Space)",
          },
          selected ? "☑" : "☐",
        ),
    h("span", { class: "ticket-no", title: `Order ${id}` }, shortOrderNumber(id)),
    !t.seen ? h("span", { class: "new-badge" }, "NEW") : null,
    h("span", { class: "ticket-age", title: `placed ${timeOfDay(o.placedAt)}` }, h("span", { "data-age": "" })),
  );
  card.appendChild(top);

  if (t.leaving) {
    const reason = o.cancelReason ?? o.rejectReason;
    card.appendChild(
      h(
        "div",
        { class: `gone-banner${t.leaving.alarm ? " gone-alarm" : ""}`, "data-gone": o.status },
        h("strong", {}, t.leaving.alarm ? "⚠ CANCELLED WHILE COOKING — STOP" : goneText(o)),
        reason ? h("span", { class: "gone-reason" }, `“${reason}”`) : null,
      ),
    );
  } else {
    card.appendChild(
      h(
        "div",
        { class: "deadline", "data-deadline": "" },
        h("span", { class: "dl-icon", "aria-hidden": "true" }),
        h("span", { class: "dl-word" }),
        h("span", { class: "dl-clock" }, h("span", { class: "dl-caption" }), h("span", { class: "dl-time" })),
      ),
    );
  }

  card.appendChild(
    h(
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
    ),
  );
  if (o.notes) card.appendChild(h("p", { class: "order-note" }, h("span", { "aria-hidden": "true" }, "✎ "), o.notes));

  if (o.driver) {
    const d = o.driver;
    card.appendChild(
      h(
        "div",
        { class: `driver${d.arrivedAt ? " arrived" : ""}`, "data-driver": d.id },
        d.arrivedAt ? h("strong", {}, `✔ ${d.name} is here`) : h("span", {}, `➜ Driver ${d.name}`),
        !d.arrivedAt && d.etaMinutes !== undefined ? h("span", { class: "eta" }, ` · ETA ${d.etaMinutes} min`) : null,
      ),
    );
  } else if (o.status === "READY") {
    card.appendChild(h("div", { class: "driver none" }, "Waiting for a driver"));
  }

  if (o.prepMinutes && (o.status === "ACCEPTED" || o.status === "PREPARING")) {
    const canChange = (NON_STATUS_CHANGES.PREP_TIME_UPDATED.in as readonly string[]).includes(o.status);
    card.appendChild(
      h(
        "div",
        { class: "prep" },
        canChange && !t.leaving
          ? btn("prep", "−5", "small", { "data-delta": -5, "aria-label": "Prep time minus 5 minutes" })
          : null,
        h(
          "span",
          { class: "prep-text", "data-prep": o.prepMinutes },
          `Prep ${o.prepMinutes} min${o.readyBy ? ` · ${timeOfDay(o.readyBy)}` : ""}`,
        ),
        canChange && !t.leaving
          ? btn("prep", "+5", "small", { "data-delta": 5, "aria-label": "Prep time plus 5 minutes" })
          : null,
      ),
    );
  }

  if (t.leaving?.alarm) {
    card.appendChild(
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "act danger wide", "data-action": "ack", "data-order-id": id },
          "Got it — binned",
        ),
      ),
    );
  } else if (!t.leaving) {
    const actions = h("div", { class: "actions" });
    if (v.rejectMenu === id) {
      actions.classList.add("reasons");
      actions.appendChild(h("div", { class: "reasons-title" }, "Reject because…"));
      for (const [i, reason] of REJECT_REASONS.entries()) {
        actions.appendChild(btn("reject-reason", `${i + 1} ${reason}`, "reason", { "data-reason": i }));
      }
      actions.appendChild(btn("reject-cancel", "Back", "ghost"));
    } else {
      if (canTransition(o.status, "ACCEPTED", "merchant")) {
        actions.appendChild(
          h(
            "div",
            { class: "accept-group", role: "group", "aria-label": "Accept with prep time" },
            h("span", { class: "group-label" }, "Accept · prep time"),
            ...QUICK_PREP_MINUTES.map((m) =>
              btn("accept", `${m}m`, "accept", { "data-prep": m, title: why ?? `Accept, ready in ${m} min` }),
            ),
          ),
        );
      }
      if (canTransition(o.status, "REJECTED", "merchant"))
        actions.appendChild(btn("reject", "Reject", "ghost danger-text"));
      if (canTransition(o.status, "PREPARING", "merchant")) actions.appendChild(btn("start", "▶ Start", "start"));
      if (canTransition(o.status, "READY", "merchant")) actions.appendChild(btn("ready", "✓ Ready", "ready"));
    }
    if (actions.childNodes.length > 0) card.appendChild(actions);
  }
  if (pending) card.appendChild(h("div", { class: "pending-note" }, pending));
  return card;
}

function renderAlarm(el: HTMLElement, v: ViewState, now: number): void {
  const alarmed = Object.values(v.board.tickets)
    .filter((t) => t.leaving?.alarm)
    .sort((a, b) => a.leaving!.since - b.leaving!.since);
  el.hidden = alarmed.length === 0;
  const sig = alarmed.map((t) => t.order.id).join(",");
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(
    ...alarmed.map((t) =>
      h(
        "div",
        { class: "alarm-row", "data-order-id": t.order.id },
        h("span", { class: "alarm-icon", "aria-hidden": "true" }, "⚠"),
        h(
          "div",
          { class: "alarm-text" },
          h(
            "strong",
            {},
            `STOP — ${shortOrderNumber(t.order.id)} was CANCELLED while ${t.column === "ready" ? "ready" : "cooking"}`,
          ),
          h(
            "span",
            {},
            t.order.items.map((i) => `${i.quantity}× ${i.name}`).join(", "),
            t.order.cancelReason ? ` · “${t.order.cancelReason}”` : "",
            ` · ${age(now - t.leaving!.since)} ago`,
          ),
        ),
        h(
          "button",
          { type: "button", class: "act danger", "data-action": "ack", "data-order-id": t.order.id },
          "Got it (Enter)",
        ),
      ),
    ),
  );
}

function renderBulk(el: HTMLElement, v: ViewState, live: boolean): void {
  const selected = [...v.selected].map((id) => v.board.tickets[id]).filter((t): t is Ticket => t !== undefined);
  el.hidden = selected.length === 0;
  const nAccept = selected.filter((t) => t.column === "new").length;
  const nReady = selected.filter((t) => t.column === "cooking").length;
  const sig = JSON.stringify([selected.length, nAccept, nReady, live]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  const why = live ? undefined : "Not live: actions are disabled";
  el.replaceChildren(
    h("span", { class: "bulk-count" }, `${selected.length} selected`),
    h(
      "button",
      {
        type: "button",
        class: "act accept",
        "data-action": "bulk-accept",
        disabled: !live || nAccept === 0,
        title: why,
      },
      `Accept selected (${nAccept})`,
    ),
    h(
      "button",
      { type: "button", class: "act ready", "data-action": "bulk-ready", disabled: !live || nReady === 0, title: why },
      `Ready selected (${nReady})`,
    ),
    h("button", { type: "button", class: "act ghost", "data-action": "clear-selection" }, "Clear (Esc)"),
  );
}

function renderNotices(el: HTMLElement, notices: readonly Notice[]): void {
  const sig = notices.map((n) => n.id).join(",");
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(
    ...notices.map((n) =>
      h(
        "div",
        { class: `notice tone-${n.tone}`, "data-notice": n.id },
        h(
          "div",
          { class: "notice-head" },
          h("strong", {}, n.title),
          h(
            "button",
            {
              type: "button",
              class: "notice-close",
              "data-action": "dismiss",
              "data-notice": n.id,
              "aria-label": "Dismiss",
            },
            "✕",
          ),
        ),
        n.lines.length
          ? h(
              "ul",
              { class: "notice-lines" },
              ...n.lines.map((l) =>
                h(
                  "li",
                  { class: l.ok ? "ok" : "fail", "data-result": l.ok ? "ok" : "fail", "data-order-id": l.orderId },
                  l.ok ? "✓ " : "✗ ",
                  l.text,
                ),
              ),
            )
          : null,
      ),
    ),
  );
}
