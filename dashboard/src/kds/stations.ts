/**
 * Stations (Additions v2): a merchant's settings map item names to stations (grill, fryer, bar)
 * by pattern; a screen may show one station. Pure: which lines of an order a station makes, and
 * whether a ticket belongs on a station's screen. The room sends every screen the same stream —
 * filtering is the screen's job.
 */
import type { Merchant, Order, Station } from "../../../schema/index.ts";
import { type BoardState, type Column, type Ticket, ticketsIn } from "./board.ts";

const fold = (s: string) => s.trim().toLocaleLowerCase("en");

/** A station pattern against an item name: whole name, case-insensitive, `*` any run of characters. */
export function patternMatches(pattern: string, name: string): boolean {
  const parts = fold(pattern)
    .split("*")
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`, "su").test(fold(name));
}

/** Whether `station` makes the item called `name` (an item may belong to several stations). */
export function isForStation(name: string, station: Station): boolean {
  return station.match.some((p) => patternMatches(p, name));
}

/** The station a screen shows, from its id: null shows everything (the expo), as does an id the kitchen does not have. */
export function findStation(merchant: Merchant | null, id: string | null): Station | null {
  if (!id) return null;
  return merchant?.stations?.find((s) => s.id === id) ?? null;
}

/** Indexes of the lines a screen shows: every line, or the station's (removed lines only on the full view). */
export function stationLines(order: Order, station: Station | null): number[] {
  return order.items.flatMap((item, i) =>
    station === null || (item.quantity > 0 && isForStation(item.name, station)) ? [i] : [],
  );
}

/** A station's screen shows only tickets with something for it to make. */
export function isOnStation(order: Order, station: Station | null): boolean {
  return station === null || stationLines(order, station).length > 0;
}

/** Lines of the order made elsewhere (counted on a station's card as "+ n for other stations"). */
export function otherLines(order: Order, station: Station | null): number {
  if (station === null) return 0;
  return order.items.filter((item) => item.quantity > 0 && !isForStation(item.name, station)).length;
}

/** Every line of this station on the ticket is done (the expo still bumps the order). */
export function stationDone(order: Order, station: Station | null): boolean {
  const lines = stationLines(order, station).filter((i) => (order.items[i]?.quantity ?? 0) > 0);
  return lines.length > 0 && lines.every((i) => order.items[i]?.doneAt !== undefined);
}

/** The tickets of one lane a screen shows: a station's screen leaves out tickets with nothing for it. */
export function ticketsShown(board: BoardState, lane: Column, station: Station | null): Ticket[] {
  return ticketsIn(board, lane).filter((t) => isOnStation(t.order, station));
}
