/**
 * This screen's own state — what is focused, selected, which reject menu is open, the notices —
 * and the pure reducer of the actions that change only it (`ScreenAction`). The room's data is
 * the board (board.ts); this is what one cook did on one screen.
 */
import { isPossible, type ScreenAction } from "./actions.ts";
import { acknowledgeAlarm, type BoardState, COLUMNS, markSeen, ticketsIn } from "./board.ts";
import { moveFocus } from "./keys.ts";

export interface Notice {
  id: number;
  tone: "ok" | "warn" | "error";
  title: string;
  lines: Array<{ ok: boolean; orderId?: string; text: string }>;
  until: number | null;
}

/** A notice before it is shown: how long it stays (null: until dismissed). */
export type NoticeDraft = Omit<Notice, "id" | "until"> & { ttlMs: number | null };

export interface ScreenState {
  readonly focused: string | null;
  readonly selected: ReadonlySet<string>;
  readonly rejectMenu: string | null;
  readonly notices: readonly Notice[];
  readonly lastNoticeId: number;
}

/** At most this many notices at once: the oldest goes. */
const MAX_NOTICES = 4;

export function initialScreen(): ScreenState {
  return { focused: null, selected: new Set(), rejectMenu: null, notices: [], lastNoticeId: 0 };
}

export interface ScreenUpdate {
  screen: ScreenState;
  board: BoardState;
}

/** Focus, selection, menus, alarms and notices: looking at a ticket also stops its flashing. */
export function applyScreenAction(screen: ScreenState, board: BoardState, a: ScreenAction): ScreenUpdate {
  if (!isPossible(a, board)) return { screen, board };
  switch (a.kind) {
    case "focus":
      return { screen: { ...screen, focused: a.orderId }, board: markSeen(board, [a.orderId]) };
    case "move-focus": {
      const columns = COLUMNS.map((c) => ticketsIn(board, c.id).map((t) => t.order.id));
      const focused = moveFocus(columns, screen.focused, a.dx, a.dy);
      return { screen: { ...screen, focused, rejectMenu: null }, board: focused ? markSeen(board, [focused]) : board };
    }
    case "select": {
      const selected = new Set(screen.selected);
      if (!selected.delete(a.orderId)) selected.add(a.orderId);
      return { screen: { ...screen, selected }, board: markSeen(board, [a.orderId]) };
    }
    case "clear-selection":
      return { screen: { ...screen, selected: new Set() }, board };
    case "open-reject":
      return { screen: { ...screen, rejectMenu: a.orderId }, board };
    case "close-reject":
      return { screen: { ...screen, rejectMenu: null }, board };
    case "acknowledge": {
      const next = acknowledgeAlarm(board, a.orderId);
      return { screen: pruneScreen(screen, next), board: next };
    }
    case "dismiss":
      return { screen: { ...screen, notices: screen.notices.filter((n) => n.id !== a.noticeId) }, board };
  }
}

/** Selection, focus and the reject menu only point at tickets that are (still) on the board. */
export function pruneScreen(screen: ScreenState, board: BoardState): ScreenState {
  const selected = [...screen.selected].filter((id) => board.tickets[id]);
  const focused = screen.focused && board.tickets[screen.focused] ? screen.focused : null;
  const menu = screen.rejectMenu;
  const rejectMenu = menu && isPossible({ kind: "open-reject", orderId: menu }, board) ? menu : null;
  if (selected.length === screen.selected.size && focused === screen.focused && rejectMenu === menu) return screen;
  return { ...screen, selected: new Set(selected), focused, rejectMenu };
}

export function deselect(screen: ScreenState, orderIds: readonly string[]): ScreenState {
  if (!orderIds.some((id) => screen.selected.has(id))) return screen;
  return { ...screen, selected: new Set([...screen.selected].filter((id) => !orderIds.includes(id))) };
}

export function addNotice(screen: ScreenState, draft: NoticeDraft, now: number): ScreenState {
  const { ttlMs, ...shown } = draft;
  const id = screen.lastNoticeId + 1;
  const notice: Notice = { ...shown, id, until: ttlMs === null ? null : now + ttlMs };
  return { ...screen, notices: [...screen.notices.slice(-(MAX_NOTICES - 1)), notice], lastNoticeId: id };
}

export function expireNotices(screen: ScreenState, now: number): ScreenState {
  const notices = screen.notices.filter((n) => n.until === null || n.until > now);
  return notices.length === screen.notices.length ? screen : { ...screen, notices };
}
