/**
 * What a printed kitchen ticket and bag label say, as plain data (the DOM is view/print.ts):
 * the big short number, the items with their notes and allergens, the order's note, the driver,
 * the scheduled time. Pure, so the wording is unit-tested and never depends on the screen.
 */
import type { Merchant, Order } from "../../../schema/index.ts";
import { dayAndTime, shortOrderNumber, timeOfDay } from "../format.ts";
import { allergenParts, allergensIn, allergenWords, type NotePart } from "./allergens.ts";

export interface PrintLine {
  quantity: number;
  name: string;
  notes: NotePart[] | null;
  allergens: string[];
}

export interface PrintJob {
  orderId: string;
  /** The big number on both slips: "#4F2A". */
  number: string;
  kitchen: string;
  placed: string;
  customer: string | null;
  /** "Delivery" / "Pickup" (when the placer said). */
  fulfilment: string | null;
  /** "Scheduled for tomorrow 19:30". */
  scheduled: string | null;
  /** "Ready by 19:45 · prep 15 min". */
  ready: string | null;
  lines: PrintLine[];
  /** Lines taken off after acceptance are not printed; this says how many. */
  removed: number;
  note: NotePart[] | null;
  /** Every allergen mentioned anywhere on the order, once. */
  allergens: string[];
  driver: string | null;
  paid: boolean | null;
}

export function printJob(order: Order, merchant: Merchant | null, now: number): PrintJob {
  const words = allergenWords(merchant);
  const lines = order.items
    .filter((i) => i.quantity > 0)
    .map(
      (i): PrintLine => ({
        quantity: i.quantity,
        name: i.name,
        notes: i.notes ? allergenParts(i.notes, words) : null,
        allergens: allergensIn(i.notes, words),
      }),
    );
  const allergens = [...new Set([...lines.flatMap((l) => l.allergens), ...allergensIn(order.notes, words)])];
  return {
    orderId: order.id,
    number: shortOrderNumber(order.id),
    kitchen: merchant?.name ?? order.merchantId,
    placed: timeOfDay(order.placedAt),
    customer: order.customerName ?? null,
    fulfilment: order.fulfilment ? (order.fulfilment === "pickup" ? "Pickup" : "Delivery") : null,
    scheduled: order.requestedFor ? `Scheduled for ${dayAndTime(order.requestedFor, now)}` : null,
    ready: order.readyBy
      ? `Ready by ${timeOfDay(order.readyBy)}${order.prepMinutes ? ` · prep ${order.prepMinutes} min` : ""}`
      : null,
    lines,
    removed: order.items.length - lines.length,
    note: order.notes ? allergenParts(order.notes, words) : null,
    allergens,
    driver: order.driver ? `Driver: ${order.driver.name}` : null,
    paid: order.paid ?? null,
  };
}
