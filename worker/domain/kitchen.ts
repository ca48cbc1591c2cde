/**
 * Kitchen operations on an accepted order (Additions v2), as pure functions: lower or remove
 * items with a reason, mark an item done at its station, recall a ticket bumped to READY by
 * mistake, fire a scheduled order. decide() calls these after authorising who asks.
 */
import {
  NON_STATUS_CHANGES,
  type ErrorBody,
  type Order,
  type OrderLine,
  RECALL_WINDOW_MS,
  type StreamEventName,
} from "../../schema/index.ts";
import type { Change, Principal } from "./changes.ts";
import { inStatus, moveTo } from "./changes.ts";

export type KitchenDecision =
  | { ok: true; patch: Partial<Order>; event: StreamEventName }
  | { ok: false; error: ErrorBody };

type KitchenChange = Extract<Change, { kind: "ADJUST_ITEMS" | "ITEM_DONE" | "RECALL" | "FIRE" }>;

const refuse = (code: ErrorBody["code"], message: string): KitchenDecision => ({ ok: false, error: { code, message } });
const blocked = (error: ErrorBody | null): KitchenDecision | null => (error ? { ok: false, error } : null);

export function totalOf(items: OrderLine[]): number {
  return items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
}

export function decideKitchen(order: Order, change: KitchenChange, who: Principal, now: Date): KitchenDecision {
  const at = now.toISOString();
  switch (change.kind) {
    case "ADJUST_ITEMS":
      return adjust(order, change, at);
    case "ITEM_DONE": {
      const no = blocked(inStatus(order, NON_STATUS_CHANGES.ITEM_DONE.in, "mark items done"));
      if (no) return no;
      const item = order.items[change.index];
      if (!item || item.quantity === 0) return refuse("BAD_REQUEST", `the order has no item ${change.index}`);
      if (change.done === (item.doneAt !== undefined)) {
        return refuse("CONFLICT", change.done ? "that item is already done" : "that item is not done");
      }
      const items = order.items.map((line, i): OrderLine => {
        if (i !== change.index) return line;
        const { doneAt: _was, ...rest } = line;
        return change.done ? { ...rest, doneAt: at } : rest;
      });
      return { ok: true, patch: { items }, event: "ITEM_DONE" };
    }
    case "RECALL": {
      const no = blocked(moveTo(order, "PREPARING", who, "RECALL"));
      if (no) return no;
      if (now.getTime() - Date.parse(order.readyAt ?? at) > RECALL_WINDOW_MS) {
        return refuse("INVALID_TRANSITION", "too late to recall: it has been READY for more than 10 minutes");
      }
      // readyAt stays (an order keeps the time of every status it has had); ready again later
      // sets a new one, and the recall window counts from the latest.
      return { ok: true, patch: { status: "PREPARING", recalledAt: at }, event: "MERCHANT_RECALLED" };
    }
    case "FIRE": {
      const no = blocked(inStatus(order, NON_STATUS_CHANGES.ORDER_FIRED.in, "fire"));
      if (no) return no;
      if (!order.fireAt || order.firedAt) return refuse("CONFLICT", "not a scheduled order waiting to fire");
      if (now.getTime() < Date.parse(order.fireAt)) return refuse("INVALID_TRANSITION", "not yet time to fire");
      return { ok: true, patch: { firedAt: at }, event: "ORDER_FIRED" };
    }
  }
}

/** Quantities only go down (0 removes the item, kept in place); the total follows; one item stays. */
function adjust(order: Order, change: Extract<Change, { kind: "ADJUST_ITEMS" }>, at: string): KitchenDecision {
  const no = blocked(inStatus(order, NON_STATUS_CHANGES.ORDER_ADJUSTED.in, "change items"));
  if (no) return no;
  const items = order.items.map((line) => ({ ...line }));
  const changes: { index: number; from: number; to: number }[] = [];
  for (const c of change.changes) {
    const line = items[c.index];
    if (!line || line.quantity === 0) return refuse("BAD_REQUEST", `the order has no item ${c.index}`);
    if (c.quantity >= line.quantity) {
      return refuse("BAD_REQUEST", `item ${c.index} has ${line.quantity}: quantities only go down after acceptance`);
    }
    changes.push({ index: c.index, from: line.quantity, to: c.quantity });
    line.quantity = c.quantity;
    if (c.quantity === 0) delete line.doneAt;
  }
  if (items.every((i) => i.quantity === 0)) {
    return refuse("BAD_REQUEST", "an order keeps at least one item: to drop all of it, ask dispatch to cancel");
  }
  const adjustment = { at, reason: change.reason, changes };
  return {
    ok: true,
    patch: { items, totalCents: totalOf(items), adjustments: [...(order.adjustments ?? []), adjustment] },
    event: "ORDER_ADJUSTED",
  };
}
