/**
 * One key press on the board, pure: what is under the cursor (the key context), the Action the
 * key stands for (keys.ts), and — when that action does not fit the ticket's state — the short
 * reason the cook is told instead (hints.ts).
 */
import { type Action, isPossible } from "./actions.ts";
import { alarms, type BoardState } from "./board.ts";
import { whyNot } from "./hints.ts";
import { type KeyContext, type KeyInput, keyAction } from "./keys.ts";
import type { ScreenState } from "./screen.ts";
import { findStation } from "./stations.ts";

export function keyContextOf(screen: ScreenState, board: BoardState): KeyContext {
  const { focused, rejectMenu, rejectStep, adjusting } = screen;
  return {
    focused: focused ? board.tickets[focused] : undefined,
    rejectMenu,
    rejectStep,
    rejectTicket: rejectMenu ? board.tickets[rejectMenu] : undefined,
    adjusting: adjusting?.orderId ?? null,
    station: findStation(board.merchant, screen.station),
    panel: screen.panel,
    alarm: alarms(board)[0]?.order.id ?? null,
  };
}

/**
 * null: not a board key (the browser keeps it). Otherwise the board takes it: `action` to
 * perform, or `hint` to show when the action does not fit (both null: nothing to act on).
 */
export function pressKey(
  e: KeyInput,
  screen: ScreenState,
  board: BoardState,
  now: number,
): { action: Action | null; hint: string | null } | null {
  const taken = keyAction(e, keyContextOf(screen, board));
  if (!taken) return null;
  const action = taken.action;
  if (!action || isPossible(action, board, now)) return { action, hint: null };
  return { action: null, hint: whyNot(action, board, now) };
}
