/**
 * Bump-bar keys: a kitchen keyboard (or a real bump bar, which sends plain keys) drives the
 * whole board. Pure: a key and what is under the cursor → an Action (actions.ts), the same
 * actions the buttons stand for; and focus movement over the visible columns.
 */
import type { Station } from "../../../schema/index.ts";
import {
  type Action,
  bumpAction,
  PREP_STEP_MINUTES,
  QUICK_PREP_MINUTES,
  REJECT_REASONS,
  rejectMenuOffers,
  SOLD_OUT_REASON,
  soldOutPicks,
} from "./actions.ts";
import type { Ticket } from "./board.ts";
import { stationLines } from "./stations.ts";

export interface KeyInput {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** What a key acts on. */
export interface KeyContext {
  /** The ticket under the bump-bar cursor. */
  focused: Ticket | undefined;
  /** The ticket whose reject reasons are open: digits pick a reason instead of a prep time. */
  rejectMenu: string | null;
  /** Which step of the reject menu is open (sold out: digits pick the item that ran out). */
  rejectStep?: "reason" | "item";
  /** The ticket of the open reject menu (to name its items). */
  rejectTicket?: Ticket | undefined;
  /** The order whose item editor is open: Esc closes it. */
  adjusting?: string | null;
  /** The station this screen shows: D marks its next item done. */
  station?: Station | null;
  /** The kitchen panel is open: Esc closes it first. */
  panel?: boolean;
  /** The oldest unacknowledged cancellation alarm: Enter answers it first. */
  alarm: string | null;
}

/**
 * null: not a board key, the browser keeps it. Otherwise the board takes the key (no scrolling,
 * no button activated by Enter) and `action` is what it does — null when there is nothing to
 * act on (no ticket focused).
 */
export type KeyResult = { action: Action | null } | null;

const take = (action: Action | null): KeyResult => ({ action });

export function keyAction(e: KeyInput, ctx: KeyContext): KeyResult {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  const orderId = ctx.focused?.order.id;
  const onFocused = (make: (orderId: string) => Action): KeyResult => take(orderId ? make(orderId) : null);
  switch (e.key) {
    case "ArrowLeft":
      return take({ kind: "move-focus", dx: -1, dy: 0 });
    case "ArrowRight":
      return take({ kind: "move-focus", dx: 1, dy: 0 });
    case "ArrowUp":
      return take({ kind: "move-focus", dx: 0, dy: -1 });
    case "ArrowDown":
      return take({ kind: "move-focus", dx: 0, dy: 1 });
    case "Enter":
      return take(bump(ctx));
    case " ":
      return onFocused((id) => ({ kind: "select", orderId: id }));
    case "Escape":
      return take(stepBack(ctx));
    case "+":
    case "=":
      return onFocused((id) => ({ kind: "prep-time", orderId: id, delta: PREP_STEP_MINUTES }));
    case "-":
    case "_":
      return onFocused((id) => ({ kind: "prep-time", orderId: id, delta: -PREP_STEP_MINUTES }));
  }
  if (/^[1-9]$/.test(e.key)) return digit(Number(e.key), ctx, onFocused);
  switch (e.key.toLowerCase()) {
    case "a":
      return e.shiftKey ? take({ kind: "bulk-accept" }) : onFocused((id) => ({ kind: "accept", orderId: id }));
    case "r":
      return e.shiftKey ? take({ kind: "bulk-ready" }) : onFocused((id) => ({ kind: "ready", orderId: id }));
    case "s":
      return onFocused((id) => ({ kind: "start", orderId: id }));
    case "x":
      return onFocused((id) => ({ kind: "open-reject", orderId: id }));
    case "u":
      return onFocused((id) => ({ kind: "recall", orderId: id }));
    case "e":
      return onFocused((id) => ({ kind: "open-adjust", orderId: id }));
    case "d":
      return take(ctx.focused ? nextItemDone(ctx.focused, ctx.station ?? null) : null);
    case "p":
      return onFocused((id) => ({ kind: "print", orderId: id }));
    case "k":
      return take({ kind: "toggle-panel" });
    case "m":
      return take({ kind: "mute" });
  }
  return null;
}

/** Esc steps back: the kitchen panel, the item editor, the sold-out step, the reasons, then the selection. */
function stepBack(ctx: KeyContext): Action {
  if (ctx.panel) return { kind: "toggle-panel" };
  if (ctx.adjusting) return { kind: "close-adjust" };
  if (ctx.rejectMenu && ctx.rejectStep === "item") return { kind: "open-reject", orderId: ctx.rejectMenu };
  if (ctx.rejectMenu) return { kind: "close-reject" };
  return { kind: "clear-selection" };
}

/** D: the next line of this station (every line, with none) not yet done; all done asks again, to be told so. */
function nextItemDone(t: Ticket, station: Station | null): Action {
  const lines = stationLines(t.order, station).filter((i) => (t.order.items[i]?.quantity ?? 0) > 0);
  const index = lines.find((i) => t.order.items[i]?.doneAt === undefined) ?? lines[0] ?? 0;
  return { kind: "item-done", orderId: t.order.id, index, done: true };
}

/**
 * Enter: the cancellation alarm first, then the focused ticket's next step — but not while its
 * reasons are open, except at the sold-out step, where Enter rejects without 86ing an item.
 */
function bump(ctx: KeyContext): Action | null {
  if (ctx.alarm) return { kind: "acknowledge", orderId: ctx.alarm };
  if (ctx.rejectMenu && ctx.rejectStep === "item") {
    return { kind: "reject", orderId: ctx.rejectMenu, reason: SOLD_OUT_REASON };
  }
  const t = ctx.focused;
  if (!t || ctx.rejectMenu === t.order.id || ctx.adjusting === t.order.id) return null;
  return bumpAction(t);
}

function digit(n: number, ctx: KeyContext, onFocused: (make: (orderId: string) => Action) => KeyResult): KeyResult {
  if (ctx.rejectMenu && ctx.rejectStep === "item") {
    // 1–n: the item that ran out (rejected and 86'd); any other digit goes back to the reasons.
    const items = ctx.rejectTicket ? soldOutPicks(ctx.rejectTicket) : [];
    return take(items[n - 1] ?? { kind: "open-reject", orderId: ctx.rejectMenu });
  }
  if (ctx.rejectMenu) {
    // A digit with no reason behind it closes the menu, as Back does.
    const pick = REJECT_REASONS[n - 1] ? rejectMenuOffers(ctx.rejectMenu)[n - 1] : undefined;
    return take(pick ?? { kind: "close-reject" });
  }
  const prepMinutes = QUICK_PREP_MINUTES[n - 1];
  return prepMinutes === undefined ? null : onFocused((id) => ({ kind: "accept", orderId: id, prepMinutes }));
}

/** The on-screen legend, in the order a cook learns them. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: "← ↑ ↓ →", what: "move" },
  { keys: "Enter", what: "bump (accept / ready)" },
  { keys: "A", what: "accept" },
  { keys: "1–4", what: `accept ${QUICK_PREP_MINUTES.join("/")} min` },
  { keys: "S", what: "start" },
  { keys: "R", what: "ready" },
  { keys: "X", what: "reject" },
  { keys: "+ −", what: `prep ±${PREP_STEP_MINUTES} min` },
  { keys: "D", what: "item done" },
  { keys: "U", what: "recall" },
  { keys: "E", what: "change items" },
  { keys: "P", what: "print" },
  { keys: "Space", what: "select" },
  { keys: "⇧A / ⇧R", what: "accept / ready selected" },
  { keys: "K", what: "kitchen" },
  { keys: "M", what: "mute" },
  { keys: "Esc", what: "back" },
];

/**
 * Moves the focus over columns of ticket ids. Left/right keep the row when they can (the
 * nearest ticket in the next non-empty column); up/down stay in the column.
 */
export function moveFocus(
  columns: ReadonlyArray<readonly string[]>,
  focused: string | null,
  dx: number,
  dy: number,
): string | null {
  const all = columns.flat();
  if (all.length === 0) return null;
  let col = -1;
  let row = -1;
  columns.forEach((ids, c) => {
    const r = focused ? ids.indexOf(focused) : -1;
    if (r >= 0) {
      col = c;
      row = r;
    }
  });
  if (col < 0) return all[0] ?? null;
  if (dy !== 0) {
    const ids = columns[col]!;
    return ids[Math.min(ids.length - 1, Math.max(0, row + dy))] ?? focused;
  }
  for (let c = col + dx; c >= 0 && c < columns.length; c += dx) {
    const ids = columns[c]!;
    if (ids.length > 0) return ids[Math.min(row, ids.length - 1)] ?? focused;
  }
  return focused;
}
