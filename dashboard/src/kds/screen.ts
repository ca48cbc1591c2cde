/**
 * This screen's own state — what is focused, selected, which menu or editor is open, which
 * station it shows, the notices — and the pure reducer of the actions that change only it
 * (`ScreenAction`). The room's data is the board (board.ts); this is what one cook did on one
 * screen.
 */
import { isPossible, type ScreenAction } from "./actions.ts";
import { acknowledgeAlarm, type BoardState, LANES, markSeen } from "./board.ts";
import { moveFocus } from "./keys.ts";
import { findStation, ticketsShown } from "./stations.ts";

export interface Notice {
  id: number;
  tone: "ok" | "warn" | "error";
  title: string;
  lines: Array<{ ok: boolean; orderId?: string; text: string }>;
  until: number | null;
}

/** A notice before it is shown: how long it stays (null: until dismissed). */
export type NoticeDraft = Omit<Notice, "id" | "until"> & { ttlMs: number | null };

/** The item editor of one accepted order: the quantities it would send. */
export interface AdjustDraft {
  readonly orderId: string;
  readonly quantities: readonly number[];
}

export interface ScreenState {
  readonly focused: string | null;
  readonly selected: ReadonlySet<string>;
  readonly rejectMenu: string | null;
  /** The reject menu's step: the reasons, or (sold out) which item ran out. */
  readonly rejectStep: "reason" | "item";
  readonly adjusting: AdjustDraft | null;
  /** The station this screen shows (`?station=`); null: all of them. */
  readonly station: string | null;
  /** The kitchen panel (availability, 86 list, this screen's settings) is open. */
  readonly panel: boolean;
  readonly notices: readonly Notice[];
  readonly lastNoticeId: number;
}

/** At most this many notices at once: the oldest goes. */
const MAX_NOTICES = 4;

export function initialScreen(station: string | null = null): ScreenState {
  return {
    focused: null,
    selected: new Set(),
    rejectMenu: null,
    rejectStep: "reason",
    adjusting: null,
    station,
    panel: false,
    notices: [],
    lastNoticeId: 0,
  };
}

/** The ticket ids the focus walks, lane by lane, as this screen shows them. */
export function focusLanes(screen: ScreenState, board: BoardState): string[][] {
  const station = findStation(board.merchant, screen.station);
  return LANES.map((lane) => ticketsShown(board, lane, station).map((t) => t.order.id));
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
      const focused = moveFocus(focusLanes(screen, board), screen.focused, a.dx, a.dy);
      const moved = { ...screen, focused, rejectMenu: null, adjusting: null };
      return { screen: moved, board: focused ? markSeen(board, [focused]) : board };
    }
    case "select": {
      const selected = new Set(screen.selected);
      if (!selected.delete(a.orderId)) selected.add(a.orderId);
      return { screen: { ...screen, selected }, board: markSeen(board, [a.orderId]) };
    }
    case "clear-selection":
      return { screen: { ...screen, selected: new Set() }, board };
    case "open-reject":
      return { screen: { ...screen, rejectMenu: a.orderId, rejectStep: "reason", adjusting: null }, board };
    case "pick-sold-out":
      return { screen: { ...screen, rejectMenu: a.orderId, rejectStep: "item", adjusting: null }, board };
    case "close-reject":
      return { screen: { ...screen, rejectMenu: null, rejectStep: "reason" }, board };
    case "open-adjust": {
      const quantities = board.tickets[a.orderId]?.order.items.map((i) => i.quantity) ?? [];
      return { screen: { ...screen, adjusting: { orderId: a.orderId, quantities }, rejectMenu: null }, board };
    }
    case "adjust-step":
      return { screen: { ...screen, adjusting: stepDraft(screen.adjusting, board, a) }, board };
    case "close-adjust":
      return { screen: { ...screen, adjusting: null }, board };
    case "pick-station":
      return { screen: pruneScreen({ ...screen, station: a.station }, board), board };
    case "toggle-panel":
      return { screen: { ...screen, panel: !screen.panel }, board };
    case "acknowledge": {
      const next = acknowledgeAlarm(board, a.orderId);
      return { screen: pruneScreen(screen, next), board: next };
    }
    case "dismiss":
      return { screen: { ...screen, notices: screen.notices.filter((n) => n.id !== a.noticeId) }, board };
  }
}

/** One quantity of the editor down or back up: never above what the order has, never below 0. */
function stepDraft(
  draft: AdjustDraft | null,
  board: BoardState,
  a: Extract<ScreenAction, { kind: "adjust-step" }>,
): AdjustDraft | null {
  const items = board.tickets[a.orderId]?.order.items;
  if (!draft || draft.orderId !== a.orderId || !items?.[a.index]) return draft;
  const quantities = draft.quantities.map((q, i) =>
    i === a.index ? Math.max(0, Math.min(items[i]?.quantity ?? 0, q + a.delta)) : q,
  );
  return { ...draft, quantities };
}

/** Selection, focus, menus and the editor only point at tickets that are (still) on the board and shown. */
export function pruneScreen(screen: ScreenState, board: BoardState): ScreenState {
  const shown = new Set(focusLanes(screen, board).flat());
  const selected = [...screen.selected].filter((id) => board.tickets[id]);
  const focused = screen.focused && shown.has(screen.focused) ? screen.focused : null;
  const menu = screen.rejectMenu;
  const rejectMenu = menu && isPossible({ kind: "open-reject", orderId: menu }, board) ? menu : null;
  const draft = screen.adjusting;
  const adjusting = draft && isPossible({ kind: "open-adjust", orderId: draft.orderId }, board) ? draft : null;
  if (
    selected.length === screen.selected.size &&
    focused === screen.focused &&
    rejectMenu === menu &&
    adjusting === draft
  )
    return screen;
  return {
    ...screen,
    selected: new Set(selected),
    focused,
    rejectMenu,
    rejectStep: rejectMenu ? screen.rejectStep : "reason",
    adjusting,
  };
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
