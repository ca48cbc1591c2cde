/** The board's bars: the cancellation alarm, the bulk bar and the notices, each redrawn only when it changes. */
import { h } from "../../dom.ts";
import { age, shortOrderNumber } from "../../format.ts";
import type { BulkCommand } from "../actions.ts";
import { alarms, type Ticket } from "../board.ts";
import { bulkMembers } from "../commands.ts";
import type { Notice } from "../screen.ts";
import { actionButton } from "./buttons.ts";
import { NOT_LIVE_WHY, type ViewState } from "./state.ts";

export function renderAlarm(el: HTMLElement, v: ViewState, now: number): void {
  const alarmed = alarms(v.board);
  el.hidden = alarmed.length === 0;
  const sig = alarmed.map((t) => t.order.id).join(",");
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(...alarmed.map((t) => alarmRow(t, now)));
}

function alarmRow(t: Ticket, now: number): HTMLElement {
  const o = t.order;
  return h(
    "div",
    { class: "alarm-row", "data-order-id": o.id },
    h("span", { class: "alarm-icon", "aria-hidden": "true" }, "⚠"),
    h(
      "div",
      { class: "alarm-text" },
      h(
        "strong",
        {},
        `STOP — ${shortOrderNumber(o.id)} was CANCELLED while ${t.column === "ready" ? "ready" : "cooking"}`,
      ),
      h(
        "span",
        {},
        o.items.map((i) => `${i.quantity}× ${i.name}`).join(", "),
        o.cancelReason ? ` · “${o.cancelReason}”` : "",
        ` · ${age(now - (t.leaving?.since ?? now))} ago`,
      ),
    ),
    actionButton({ kind: "acknowledge", orderId: o.id }, "Got it (Enter)", { class: "act danger" }),
  );
}

export function renderBulk(el: HTMLElement, v: ViewState, live: boolean): void {
  const selected = [...v.screen.selected].filter((id) => v.board.tickets[id]);
  el.hidden = selected.length === 0;
  const count = (kind: BulkCommand["kind"]) => bulkMembers(kind, v.board, selected).length;
  const nAccept = count("bulk-accept");
  const nReady = count("bulk-ready");
  const sig = JSON.stringify([selected.length, nAccept, nReady, live]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  const title = live ? undefined : NOT_LIVE_WHY;
  el.replaceChildren(
    h("span", { class: "bulk-count" }, `${selected.length} selected`),
    actionButton({ kind: "bulk-accept" }, `Accept selected (${nAccept})`, {
      class: "act accept",
      disabled: !live || nAccept === 0,
      title,
    }),
    actionButton({ kind: "bulk-ready" }, `Ready selected (${nReady})`, {
      class: "act ready",
      disabled: !live || nReady === 0,
      title,
    }),
    actionButton({ kind: "clear-selection" }, "Clear (Esc)", { class: "act ghost" }),
  );
}

export function renderNotices(el: HTMLElement, notices: readonly Notice[]): void {
  const sig = notices.map((n) => n.id).join(",");
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(...notices.map(noticeBox));
}

function noticeBox(n: Notice): HTMLElement {
  return h(
    "div",
    { class: `notice tone-${n.tone}`, "data-notice": n.id },
    h(
      "div",
      { class: "notice-head" },
      h("strong", {}, n.title),
      actionButton({ kind: "dismiss", noticeId: n.id }, "✕", { class: "notice-close", "aria-label": "Dismiss" }),
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
  );
}
