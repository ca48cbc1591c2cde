/**
 * What each command asks of the merchant room, one row per command: the change the contract
 * must allow (the guard, from schema/transitions.ts), the frame (schema/ws.ts), and the words a
 * cook sees while it is in flight and when it goes wrong. A new command is a new row here.
 */
import {
  canTransition,
  type MerchantAction,
  NON_STATUS_CHANGES,
  type Order,
  type OrderStatus,
  PrepMinutesSchema,
  RECALL_WINDOW_MS,
} from "../../../schema/index.ts";
import type { BulkCommand, KitchenCommand, OrderCommand } from "./actions.ts";
import type { BoardState, Column, Ticket } from "./board.ts";

/** An action frame before the request tracker gives it its requestId. */
export type CommandFrame = MerchantAction extends infer A
  ? A extends MerchantAction
    ? Omit<A, "requestId">
    : never
  : never;

/**
 * What a command asks of the room: a status transition (`as` names a move only one action makes:
 * recall and start both end in PREPARING), or a change that is not one.
 */
export type RoomChange = { to: OrderStatus; as?: "RECALL" } | { change: keyof typeof NON_STATUS_CHANGES };

/** The contract's answer to "may a merchant make this change to an order in `status`?". */
export function merchantMay(change: RoomChange, status: OrderStatus): boolean {
  if ("to" in change) return canTransition(status, change.to, "merchant", change.as);
  const rule = NON_STATUS_CHANGES[change.change];
  return (rule.by as readonly string[]).includes("merchant") && (rule.in as readonly OrderStatus[]).includes(status);
}

interface OrderCommandSpec<A extends OrderCommand> {
  change: RoomChange;
  /** A time limit the contract puts on the change, beyond the status (recall: 10 min after ready). */
  inTime?: (order: Order, now: number) => boolean;
  /** The frame for this order; null when there is nothing to change. */
  frame: (action: A, order: Order) => CommandFrame | null;
  /** Shown on the ticket until the room answers. */
  pending: string;
  /** As in "could not accept", "accept — outcome unknown". */
  verb: string;
}

type OrderCommandSpecs = { [K in OrderCommand["kind"]]: OrderCommandSpec<Extract<OrderCommand, { kind: K }>> };

/** What ±5 counts from when an order has no prep time yet. */
const PREP_FALLBACK_MINUTES = 15;

export const ORDER_COMMANDS: OrderCommandSpecs = {
  accept: {
    change: { to: "ACCEPTED" },
    frame: ({ orderId, prepMinutes }) => ({
      action: "MERCHANT_ACCEPT",
      payload: { orderId, ...(prepMinutes !== undefined ? { prepMinutes } : {}) },
    }),
    pending: "Accepting…",
    verb: "accept",
  },
  reject: {
    change: { to: "REJECTED" },
    // The customer is told which item ran out.
    frame: ({ orderId, reason, soldOut }) => ({
      action: "MERCHANT_REJECT",
      payload: { orderId, reason: soldOut ? `${reason} (${soldOut})` : reason },
    }),
    pending: "Rejecting…",
    verb: "reject",
  },
  start: {
    change: { to: "PREPARING" },
    frame: ({ orderId }) => ({ action: "MERCHANT_MARK_PREPARING", payload: { orderId } }),
    pending: "Starting…",
    verb: "start",
  },
  ready: {
    change: { to: "READY" },
    frame: ({ orderId }) => ({ action: "MERCHANT_MARK_READY", payload: { orderId } }),
    pending: "Marking ready…",
    verb: "mark ready",
  },
  "prep-time": {
    change: { change: "PREP_TIME_UPDATED" },
    frame: ({ orderId, delta }, order) => {
      const { minValue, maxValue } = PrepMinutesSchema;
      const wanted = (order.prepMinutes ?? PREP_FALLBACK_MINUTES) + delta;
      const prepMinutes = Math.min(maxValue ?? wanted, Math.max(minValue ?? wanted, wanted));
      return prepMinutes === order.prepMinutes
        ? null
        : { action: "MERCHANT_UPDATE_PREP_TIME", payload: { orderId, prepMinutes } };
    },
    pending: "Updating prep time…",
    verb: "change the prep time",
  },
  recall: {
    change: { to: "PREPARING", as: "RECALL" },
    inTime: (order, now) => now - Date.parse(order.readyAt ?? new Date(now).toISOString()) <= RECALL_WINDOW_MS,
    frame: ({ orderId }) => ({ action: "MERCHANT_RECALL", payload: { orderId } }),
    pending: "Recalling…",
    verb: "recall",
  },
  "item-done": {
    change: { change: "ITEM_DONE" },
    frame: ({ orderId, index, done }, order) => {
      const item = order.items[index];
      if (!item || item.quantity === 0 || (item.doneAt !== undefined) === done) return null;
      return { action: "MERCHANT_ITEM_DONE", payload: { orderId, index, done } };
    },
    pending: "Marking the item…",
    verb: "mark the item",
  },
  adjust: {
    change: { change: "ORDER_ADJUSTED" },
    // Quantities only go down, and at least one item stays (the room says the same).
    frame: ({ orderId, reason, changes }, order) => {
      const lower = changes.filter((c) => {
        const item = order.items[c.index];
        return item !== undefined && c.quantity >= 0 && c.quantity < item.quantity;
      });
      const after = order.items.map((item, i) => lower.find((c) => c.index === i)?.quantity ?? item.quantity);
      if (lower.length === 0 || after.every((q) => q === 0)) return null;
      return { action: "MERCHANT_ADJUST_ITEMS", payload: { orderId, changes: lower, reason } };
    },
    pending: "Changing items…",
    verb: "change the items",
  },
};

/** May the merchant ask for this command on this ticket now, by the contract's tables (and time limits)? */
export function canCommand(kind: OrderCommand["kind"], ticket: Ticket | undefined, now = Date.now()): boolean {
  if (ticket === undefined || ticket.leaving) return false;
  const spec = ORDER_COMMANDS[kind] as OrderCommandSpec<OrderCommand>;
  return merchantMay(spec.change, ticket.order.status) && (spec.inTime?.(ticket.order, now) ?? true);
}

interface BulkCommandSpec {
  /**
   * Where its tickets come from. Deliberately not a guard: a selected ticket this screen already
   * shows as cancelled still goes, and the room's per-order results say why it did not move.
   */
  column: Column;
  frame: (orderIds: string[]) => CommandFrame;
  pending: string;
  /** The notice's title. */
  title: string;
  /** The summary's verb: "2 of 3 accepted". */
  done: string;
  /** One moved order, in the notice: "accepted · 15 min", "ready". */
  moved: (order: Order) => string;
}

export const BULK_COMMANDS: Record<BulkCommand["kind"], BulkCommandSpec> = {
  "bulk-accept": {
    column: "new",
    frame: (orderIds) => ({ action: "BULK_ACCEPT", payload: { orderIds } }),
    pending: "Accepting…",
    title: "Accept selected",
    done: "accepted",
    moved: (order) => `accepted${order.prepMinutes ? ` · ${order.prepMinutes} min` : ""}`,
  },
  "bulk-ready": {
    column: "cooking",
    frame: (orderIds) => ({ action: "BULK_MARK_READY", payload: { orderIds } }),
    pending: "Marking ready…",
    title: "Ready selected",
    done: "ready",
    moved: () => "ready",
  },
};

/** The selected tickets a bulk command would send. */
export function bulkMembers(kind: BulkCommand["kind"], board: BoardState, selected: Iterable<string>): string[] {
  return [...selected].filter((id) => board.tickets[id]?.column === BULK_COMMANDS[kind].column);
}

/** One request to the room, before it has a requestId. */
export interface CommandRequest {
  command: OrderCommand | BulkCommand | KitchenCommand;
  frame: CommandFrame;
  /** The tickets it is about: each shows `pending` until the room answers. */
  orderIds: readonly string[];
  pending: string;
}

/** The request for one order, or null: the contract does not allow it now, or nothing would change. */
export function orderRequest(command: OrderCommand, board: BoardState, now = Date.now()): CommandRequest | null {
  const ticket = board.tickets[command.orderId];
  if (!ticket || !canCommand(command.kind, ticket, now)) return null;
  // The row for command.kind takes exactly this command; TypeScript cannot correlate the two.
  const spec = ORDER_COMMANDS[command.kind] as OrderCommandSpec<OrderCommand>;
  const frame = spec.frame(command, ticket.order);
  return frame && { command, frame, orderIds: [command.orderId], pending: spec.pending };
}

/** The request for the selected tickets of the command's column, or null when there are none. */
export function bulkRequest(
  command: BulkCommand,
  board: BoardState,
  selected: Iterable<string>,
): CommandRequest | null {
  const orderIds = bulkMembers(command.kind, board, selected);
  if (orderIds.length === 0) return null;
  const spec = BULK_COMMANDS[command.kind];
  return { command, frame: spec.frame(orderIds), orderIds, pending: spec.pending };
}
