/**
 * The "all day" panel: how many of each item the line has to make right now, across tickets —
 * for the station a screen shows. Pure.
 */
import type { Station } from "../../../schema/index.ts";
import type { BoardState } from "./board.ts";
import { stationLines } from "./stations.ts";

export interface AllDayLine {
  name: string;
  /** On cooking tickets (accepted or started), not yet done. */
  cooking: number;
  /** On new tickets, not yet accepted: what is coming. */
  incoming: number;
}

export function allDay(board: BoardState, station: Station | null): AllDayLine[] {
  const lines = new Map<string, AllDayLine>();
  for (const t of Object.values(board.tickets)) {
    if (t.leaving || (t.column !== "cooking" && t.column !== "new")) continue;
    for (const i of stationLines(t.order, station)) {
      const item = t.order.items[i];
      if (!item || item.quantity === 0 || item.doneAt !== undefined) continue;
      const key = item.name.trim().toLocaleLowerCase("en");
      const line = lines.get(key) ?? { name: item.name.trim(), cooking: 0, incoming: 0 };
      if (t.column === "cooking") line.cooking += item.quantity;
      else line.incoming += item.quantity;
      lines.set(key, line);
    }
  }
  return [...lines.values()].sort(
    (a, b) => b.cooking - a.cooking || b.incoming - a.incoming || a.name.localeCompare(b.name),
  );
}
