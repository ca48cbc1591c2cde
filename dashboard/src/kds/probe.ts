import type { LinkStatus } from "../connection.ts";
import type { BoardState } from "./board.ts";
import type { WakeState } from "./wake.ts";

/** What tests and curious engineers can read from the console: `window.__ticketRail`. */
export interface KitchenProbe {
  readonly stats: BoardState["stats"];
  readonly status: LinkStatus;
  readonly seq: number;
  readonly tickets: Array<{ id: string; status: string; leaving: boolean; lane: string }>;
  readonly availability: string;
  readonly soldOut: string[];
  readonly printed: number;
  readonly wake: WakeState;
  readonly station: string | null;
}

interface Read {
  board: BoardState;
  status: LinkStatus;
  printed: number;
  wake: WakeState;
  station: string | null;
}

/** Getters, so a test reading window.__ticketRail always sees the current state. */
export function exposeProbe(read: () => Read): void {
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
        lane: t.column,
      }));
    },
    get availability() {
      return read().board.merchant?.availability?.mode ?? "OPEN";
    },
    get soldOut() {
      return (read().board.merchant?.soldOut ?? []).map((i) => i.name);
    },
    get printed() {
      return read().printed;
    },
    get wake() {
      return read().wake;
    },
    get station() {
      return read().station;
    },
  };
  (window as unknown as { __ticketRail: KitchenProbe }).__ticketRail = probe;
}
