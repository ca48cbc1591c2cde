import type { LinkStatus } from "../../connection.ts";
import type { BoardState } from "../board.ts";
import type { ScreenState } from "../screen.ts";

/** Everything one render reads: the room's board, this screen's state, and the device around it. */
export interface ViewState {
  board: BoardState;
  screen: ScreenState;
  link: LinkStatus;
  downSince: number | null;
  /** What each ticket with a request in flight shows ("Accepting…"). */
  pending: ReadonlyMap<string, string>;
  sound: "off" | "on" | "muted";
  rush: { available: boolean; running: boolean; placed: number };
}

export const NOT_LIVE_WHY = "Not live: actions are disabled";
