/**
 * The kitchen display's one action model. A button on a card, a click, a bump-bar key: each is
 * an `Action`, and `KitchenDisplay.perform` is the one place that runs one. Whether an action
 * can happen to a ticket now comes from the contract's tables in schema/transitions.ts
 * (`canTransition`, `NON_STATUS_CHANGES`, `RECALL_WINDOW_MS`) through `ORDER_COMMANDS` — never
 * from a status check of its own — so the buttons a card shows and what a key may do cannot
 * disagree.
 *
 * Where what comes next goes:
 * - a command on one order: an `OrderCommand` and its row in `ORDER_COMMANDS` (commands.ts),
 *   guarded by the transition or the non-status change the schema allows; a card offers it by
 *   listing it in `ticketOffers`, a key by keys.ts.
 * - a command about the kitchen (availability, the 86 list): a `KitchenCommand` and its row in
 *   `KITCHEN_COMMANDS` (kitchen-commands.ts), tracked like the others (requests.ts).
 * - this screen only (a station, a menu, an editor): a `ScreenAction`, its state in `ScreenState`.
 * - this device (sound, printing): a `DeviceAction`, handled in device.ts.
 */
import type { AvailabilityMode } from "../../../schema/index.ts";
import type { BoardState, Ticket } from "./board.ts";
import { BULK_COMMANDS, canCommand, ORDER_COMMANDS, orderRequest } from "./commands.ts";
import { KITCHEN_COMMANDS } from "./kitchen-commands.ts";

/** The quick prep choices offered on Accept (minutes); keys 1–4 pick them. */
export const QUICK_PREP_MINUTES = [10, 15, 20, 30] as const;

/** What one press of −/+ takes off or adds to the prep time (minutes). */
export const PREP_STEP_MINUTES = 5;

/** Reasons a kitchen gives when it cannot take an order (keys 1–4 while the menu is open). */
export const REJECT_REASONS = ["Too busy right now", "Item sold out", "Closing soon", "Kitchen problem"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
/** The reason that offers to 86 the item in the same gesture. */
export const SOLD_OUT_REASON: RejectReason = "Item sold out";

/** Why items are taken off an accepted order (told to the customer). */
export const ADJUST_REASONS = ["Item ran out", "Customer asked", "Kitchen mistake"] as const;
export type AdjustReason = (typeof ADJUST_REASONS)[number];

/** Sent to the room about one order; possible when the contract lets a merchant make that change. */
export type OrderCommand =
  | { kind: "accept"; orderId: string; prepMinutes?: number }
  /** `soldOut`: the item that ran out — it is 86'd in the same gesture. */
  | { kind: "reject"; orderId: string; reason: RejectReason; soldOut?: string }
  | { kind: "start"; orderId: string }
  | { kind: "ready"; orderId: string }
  | { kind: "prep-time"; orderId: string; delta: number }
  | { kind: "recall"; orderId: string }
  | { kind: "item-done"; orderId: string; index: number; done: boolean }
  | { kind: "adjust"; orderId: string; reason: AdjustReason; changes: Array<{ index: number; quantity: number }> };

/** Sent to the room for every selected ticket of one column; the room judges each one. */
export type BulkCommand = { kind: "bulk-accept" } | { kind: "bulk-ready" };

/** Sent to the room about the kitchen itself. */
export type KitchenCommand =
  /** `minutes`: a timed state, ending by itself; none: until someone changes it. */
  | { kind: "availability"; mode: AvailabilityMode; minutes?: number; extraPrepMinutes?: number }
  /** 86: until the end of the kitchen's day. */
  | { kind: "eighty-six"; name: string }
  | { kind: "un-eighty-six"; name: string };

/** This screen's own state: focus, selection, menus, editors, its station. Nothing is sent. */
export type ScreenAction =
  | { kind: "focus"; orderId: string }
  | { kind: "move-focus"; dx: -1 | 0 | 1; dy: -1 | 0 | 1 }
  | { kind: "select"; orderId: string }
  | { kind: "clear-selection" }
  | { kind: "open-reject"; orderId: string }
  /** The reject menu's second step: which item ran out. */
  | { kind: "pick-sold-out"; orderId: string }
  | { kind: "close-reject" }
  | { kind: "open-adjust"; orderId: string }
  | { kind: "adjust-step"; orderId: string; index: number; delta: -1 | 1 }
  | { kind: "close-adjust" }
  | { kind: "pick-station"; station: string | null }
  | { kind: "toggle-panel" }
  | { kind: "acknowledge"; orderId: string }
  | { kind: "dismiss"; noticeId: number };

/** This device and session: sound, printing, the dev rush, signing out. */
export type DeviceAction =
  | { kind: "sound" }
  | { kind: "mute" }
  | { kind: "print"; orderId: string }
  | { kind: "auto-print" }
  | { kind: "rush" }
  | { kind: "sign-out" };

export type Action = OrderCommand | BulkCommand | KitchenCommand | ScreenAction | DeviceAction;

export function isOrderCommand(a: Action): a is OrderCommand {
  return Object.hasOwn(ORDER_COMMANDS, a.kind);
}

export function isBulkCommand(a: Action): a is BulkCommand {
  return Object.hasOwn(BULK_COMMANDS, a.kind);
}

export function isKitchenCommand(a: Action): a is KitchenCommand {
  return Object.hasOwn(KITCHEN_COMMANDS, a.kind);
}

/**
 * Whether an action can happen now. Order commands (and the menus that lead to them) by the
 * contract, and only when they would change something; screen actions by what is on the board;
 * the rest always.
 */
export function isPossible(action: Action, board: BoardState, now = Date.now()): boolean {
  const ticket = "orderId" in action ? board.tickets[action.orderId] : undefined;
  if (isOrderCommand(action)) return orderRequest(action, board, now) !== null;
  switch (action.kind) {
    case "open-reject":
    case "pick-sold-out":
      return canCommand("reject", ticket, now);
    case "open-adjust":
    case "adjust-step":
      return canCommand("adjust", ticket, now);
    case "focus":
    case "print":
      return ticket !== undefined;
    case "select":
      return ticket !== undefined && !ticket.leaving;
    case "acknowledge":
      return ticket?.leaving !== undefined;
    default:
      return true;
  }
}

/** Enter moves a ticket on: the first of these steps its order's status allows. */
const BUMP_STEPS = ["accept", "ready"] as const;

export function bumpAction(ticket: Ticket, now = Date.now()): OrderCommand | null {
  const kind = BUMP_STEPS.find((k) => canCommand(k, ticket, now));
  return kind ? { kind, orderId: ticket.order.id } : null;
}

/** What a ticket card offers, in the order it shows them. */
export interface TicketOffers {
  /** Accept with one of the quick prep times. */
  accept: OrderCommand[];
  /** Reject (opens the reasons), start, ready, recall. */
  steps: Action[];
  /** Prep time −5 / +5. */
  prep: OrderCommand[];
  /** Change items (opens the editor), print. */
  tools: Action[];
}

export function ticketOffers(ticket: Ticket, board: BoardState, now = Date.now()): TicketOffers {
  const orderId = ticket.order.id;
  const possible = <A extends Action>(actions: A[]): A[] => actions.filter((a) => isPossible(a, board, now));
  return {
    accept: possible(QUICK_PREP_MINUTES.map((prepMinutes): OrderCommand => ({ kind: "accept", orderId, prepMinutes }))),
    steps: possible<Action>([
      { kind: "open-reject", orderId },
      { kind: "start", orderId },
      { kind: "ready", orderId },
      { kind: "recall", orderId },
    ]),
    prep: possible<OrderCommand>([
      { kind: "prep-time", orderId, delta: -PREP_STEP_MINUTES },
      { kind: "prep-time", orderId, delta: PREP_STEP_MINUTES },
    ]),
    tools: ticket.leaving
      ? []
      : possible<Action>([
          { kind: "open-adjust", orderId },
          { kind: "print", orderId },
        ]),
  };
}

/** The reasons menu of one ticket: a reject per reason (sold out asks which item first), then Back. */
export function rejectMenuOffers(orderId: string): Action[] {
  return [
    ...REJECT_REASONS.map(
      (reason): Action =>
        reason === SOLD_OUT_REASON ? { kind: "pick-sold-out", orderId } : { kind: "reject", orderId, reason },
    ),
    { kind: "close-reject" },
  ];
}

/** "Which item ran out?": reject and 86 that item — one per item name, keys 1–n. */
export function soldOutPicks(ticket: Ticket): OrderCommand[] {
  const orderId = ticket.order.id;
  const names = [...new Set(ticket.order.items.map((i) => i.name.trim()))];
  return names.map((soldOut) => ({ kind: "reject", orderId, reason: SOLD_OUT_REASON, soldOut }));
}

/** The sold-out step: each item (reject + 86), just reject (Enter), Back to the reasons (Esc). */
export function soldOutMenuOffers(ticket: Ticket): Action[] {
  const orderId = ticket.order.id;
  return [
    ...soldOutPicks(ticket),
    { kind: "reject", orderId, reason: SOLD_OUT_REASON },
    { kind: "open-reject", orderId },
  ];
}
