/**
 * The kitchen display's one action model. A button on a card, a click, a bump-bar key: each is
 * an `Action`, and `KitchenDisplay.perform` is the one place that runs one. Whether an action
 * can happen to a ticket now comes from the contract's tables in schema/transitions.ts
 * (`canTransition`, `NON_STATUS_CHANGES`) through `ORDER_COMMANDS` — never from a status check
 * of its own — so the buttons a card shows and what a key may do cannot disagree.
 *
 * Where what comes next goes:
 * - recall (READY → PREPARING), item adjustments after accept: an `OrderCommand` and its row
 *   in `ORDER_COMMANDS` (commands.ts), guarded by the transition or the non-status change the
 *   schema adds for it; a card offers it by listing it in `ticketOffers`, a key by keys.ts.
 * - item bump at a station: an `OrderCommand` naming the item; the station itself (which items
 *   this screen shows) is a `ScreenAction` and a field of `ScreenState` (screen.ts).
 * - pause / busy, 86 (sold out): a third kind of command, `KitchenCommand` — sent to the room
 *   about the kitchen rather than one order, with its table beside `ORDER_COMMANDS` and its
 *   requests through the same tracker (requests.ts).
 * - printing (P): a `DeviceAction` `{ kind: "print"; orderId }` and one key in keys.ts.
 */
import type { BoardState, Ticket } from "./board.ts";
import { BULK_COMMANDS, canCommand, ORDER_COMMANDS } from "./commands.ts";

/** The quick prep choices offered on Accept (minutes); keys 1–4 pick them. */
export const QUICK_PREP_MINUTES = [10, 15, 20, 30] as const;

/** What one press of −/+ takes off or adds to the prep time (minutes). */
export const PREP_STEP_MINUTES = 5;

/** Reasons a kitchen gives when it cannot take an order (keys 1–4 while the menu is open). */
export const REJECT_REASONS = ["Too busy right now", "Item sold out", "Closing soon", "Kitchen problem"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Sent to the room about one order; possible when the contract lets a merchant make that change. */
export type OrderCommand =
  | { kind: "accept"; orderId: string; prepMinutes?: number }
  | { kind: "reject"; orderId: string; reason: RejectReason }
  | { kind: "start"; orderId: string }
  | { kind: "ready"; orderId: string }
  | { kind: "prep-time"; orderId: string; delta: number };

/** Sent to the room for every selected ticket of one column; the room judges each one. */
export type BulkCommand = { kind: "bulk-accept" } | { kind: "bulk-ready" };

/** This screen's own state: focus, selection, the reject menu, alarms, notices. Nothing is sent. */
export type ScreenAction =
  | { kind: "focus"; orderId: string }
  | { kind: "move-focus"; dx: -1 | 0 | 1; dy: -1 | 0 | 1 }
  | { kind: "select"; orderId: string }
  | { kind: "clear-selection" }
  | { kind: "open-reject"; orderId: string }
  | { kind: "close-reject" }
  | { kind: "acknowledge"; orderId: string }
  | { kind: "dismiss"; noticeId: number };

/** This device and session: sound, the dev rush, signing out. */
export type DeviceAction = { kind: "sound" } | { kind: "mute" } | { kind: "rush" } | { kind: "sign-out" };

export type Action = OrderCommand | BulkCommand | ScreenAction | DeviceAction;

export function isOrderCommand(a: Action): a is OrderCommand {
  return Object.hasOwn(ORDER_COMMANDS, a.kind);
}

export function isBulkCommand(a: Action): a is BulkCommand {
  return Object.hasOwn(BULK_COMMANDS, a.kind);
}

/**
 * Whether an action can happen now. Order commands (and opening the reject reasons) by the
 * contract; screen actions by what is on the board; the rest always.
 */
export function isPossible(action: Action, board: BoardState): boolean {
  const ticket = "orderId" in action ? board.tickets[action.orderId] : undefined;
  if (isOrderCommand(action)) return canCommand(action.kind, ticket);
  switch (action.kind) {
    case "open-reject":
      return canCommand("reject", ticket);
    case "focus":
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

export function bumpAction(ticket: Ticket): OrderCommand | null {
  const kind = BUMP_STEPS.find((k) => canCommand(k, ticket));
  return kind ? { kind, orderId: ticket.order.id } : null;
}

/** What a ticket card offers, in the order it shows them. */
export interface TicketOffers {
  /** Accept with one of the quick prep times. */
  accept: OrderCommand[];
  /** Reject (opens the reasons), start, ready. */
  steps: Action[];
  /** Prep time −5 / +5. */
  prep: OrderCommand[];
}

export function ticketOffers(ticket: Ticket, board: BoardState): TicketOffers {
  const orderId = ticket.order.id;
  const possible = <A extends Action>(actions: A[]): A[] => actions.filter((a) => isPossible(a, board));
  return {
    accept: possible(QUICK_PREP_MINUTES.map((prepMinutes): OrderCommand => ({ kind: "accept", orderId, prepMinutes }))),
    steps: possible<Action>([
      { kind: "open-reject", orderId },
      { kind: "start", orderId },
      { kind: "ready", orderId },
    ]),
    prep: possible<OrderCommand>([
      { kind: "prep-time", orderId, delta: -PREP_STEP_MINUTES },
      { kind: "prep-time", orderId, delta: PREP_STEP_MINUTES },
    ]),
  };
}

/** The reasons menu of one ticket: a reject per reason, then Back. */
export function rejectMenuOffers(orderId: string): Action[] {
  return [...REJECT_REASONS.map((reason): Action => ({ kind: "reject", orderId, reason })), { kind: "close-reject" }];
}
