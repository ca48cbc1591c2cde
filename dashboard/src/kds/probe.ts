import type { LinkStatus } from "../connection.ts";
import type { BoardState } from "./board.ts";

/** What tests and curious engineers can read from the console: `window.__ticketRail`. */
export interface KitchenProbe {
  readonly stats: BoardState["stats"];
  readonly status: LinkStatus;
  readonly seq: number;
  readonly tickets: Array<{ id: string; status: string; leaving: boolean }>;
}

/** Getters, so a test reading window.__ticketRail always sees the current state. */
export function exposeProbe(read: () => { board: BoardState; status: LinkStatus }): void {
  const probe: KitchenProbe = {
    get stats() {
      return read().board.stats;
    },
    get status() {
      return read().status;
    },
    get seq() {
      return read().board.cursor?.since ?? 0;
    },
    get tickets() {
      return Object.values(read().board.tickets).map((t) => ({
        id: t.order.id,
        status: t.order.status,
        leaving: !!t.leaving,
      }));
    },
  };
  (window as unknown as { __ticketRail: KitchenProbe }).__ticketRail = probe;
}
