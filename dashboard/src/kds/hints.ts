/**
 * Why a key does nothing: a key that does not fit the ticket's state (S on a new ticket, U on one
 * that is cooking) says so briefly, in kitchen words, instead of doing nothing silently. Pure.
 */
import type { Order } from "../../../schema/index.ts";
import { RECALL_WINDOW_MS } from "../../../schema/index.ts";
import { shortOrderNumber } from "../format.ts";
import type { Action } from "./actions.ts";
import type { BoardState } from "./board.ts";

/** What each status is called on the board. */
const STATE_WORDS: Partial<Record<Order["status"], string>> = {
  PLACED: "new",
  ACCEPTED: "accepted",
  PREPARING: "cooking",
  READY: "ready",
};

/** The words a refused key is told with: "start", "mark ready", … */
const VERBS: Partial<Record<Action["kind"], string>> = {
  accept: "accept",
  reject: "reject",
  "open-reject": "reject",
  start: "start",
  ready: "mark ready",
  "prep-time": "change the prep time",
  recall: "recall",
  "item-done": "mark an item done",
  "open-adjust": "change items",
};

/** Why `action` cannot happen to its ticket now; null when there is nothing useful to say. */
export function whyNot(action: Action, board: BoardState, now: number): string | null {
  const verb = VERBS[action.kind];
  if (!verb || !("orderId" in action)) return null;
  const t = board.tickets[action.orderId];
  if (!t) return null;
  const o = t.order;
  const no = `${shortOrderNumber(o.id)}: can't ${verb}`;
  if (t.leaving) return `${no} — it is ${o.status.toLowerCase()}`;
  const state = STATE_WORDS[o.status] ?? o.status.toLowerCase();
  switch (action.kind) {
    case "start":
    case "ready":
    case "prep-time":
    case "item-done":
    case "open-adjust":
      if (o.status === "PLACED") return `${no} — it is new: accept it first (A or 1–4)`;
      if (action.kind === "item-done" && o.items.every((i) => i.quantity === 0 || i.doneAt))
        return `${no} — every item is already done`;
      if (action.kind === "prep-time")
        return o.status === "READY" ? `${no} — it is already ready` : `${no} — the prep time is at its limit`;
      return `${no} — it is already ${state}`;
    case "recall":
      if (o.status !== "READY") return `${no} — only a ready ticket can be recalled`;
      if (o.readyAt && now - Date.parse(o.readyAt) > RECALL_WINDOW_MS)
        return `${no} — it has been ready for more than ${RECALL_WINDOW_MS / 60_000} min`;
      return null;
    default:
      return `${no} — it is already ${state}`;
  }
}
