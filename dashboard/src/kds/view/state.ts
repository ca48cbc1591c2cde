import type { Station } from "../../../../schema/index.ts";
import type { LinkStatus } from "../../connection.ts";
import type { BoardState } from "../board.ts";
import type { ScreenState } from "../screen.ts";

/** Everything one render reads: the room's board, this screen's state, and the device around it. */
export interface ViewState {
  board: BoardState;
  screen: ScreenState;
  /** The station this screen shows (null: all), resolved against the kitchen's settings. */
  station: Station | null;
  /** The kitchen's allergen words (its settings, else the default list). */
  allergens: readonly string[];
  link: LinkStatus;
  downSince: number | null;
  /** What each ticket with a request in flight shows ("Accepting…"). */
  pending: ReadonlyMap<string, string>;
  /** A kitchen request (pause, 86) in flight: its words. */
  kitchenPending: string | null;
  sound: "off" | "on" | "muted" | "asleep";
  autoPrint: boolean;
  rush: { available: boolean; running: boolean; placed: number };
}

export const NOT_LIVE_WHY = "Not live: actions are disabled";
