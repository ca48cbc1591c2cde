/**
 * Bump-bar keys: a kitchen keyboard (or a real bump bar, which sends plain keys) drives the
 * whole board. Pure: key → command, and focus movement over the visible columns.
 */

export type KeyCommand =
  | { kind: "move"; dx: -1 | 0 | 1; dy: -1 | 0 | 1 }
  | { kind: "bump" }
  | { kind: "accept"; prepMinutes?: number }
  | { kind: "start" }
  | { kind: "ready" }
  | { kind: "reject" }
  | { kind: "reason"; index: number }
  | { kind: "prep"; delta: number }
  | { kind: "select" }
  | { kind: "bulk-accept" }
  | { kind: "bulk-ready" }
  | { kind: "escape" }
  | { kind: "mute" };

/** The quick prep choices offered on Accept (minutes); keys 1–4 pick them. */
export const QUICK_PREP_MINUTES = [10, 15, 20, 30] as const;

export interface KeyInput {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/**
 * `menuOpen`: while a ticket's reject reasons are open, digits pick a reason instead of a prep
 * time.
 */
export function commandForKey(e: KeyInput, menuOpen: boolean): KeyCommand | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  switch (e.key) {
    case "ArrowLeft":
      return { kind: "move", dx: -1, dy: 0 };
    case "ArrowRight":
      return { kind: "move", dx: 1, dy: 0 };
    case "ArrowUp":
      return { kind: "move", dx: 0, dy: -1 };
    case "ArrowDown":
      return { kind: "move", dx: 0, dy: 1 };
    case "Enter":
      return { kind: "bump" };
    case " ":
      return { kind: "select" };
    case "Escape":
      return { kind: "escape" };
    case "+":
    case "=":
      return { kind: "prep", delta: 5 };
    case "-":
    case "_":
      return { kind: "prep", delta: -5 };
  }
  if (/^[1-9]$/.test(e.key)) {
    const n = Number(e.key);
    if (menuOpen) return { kind: "reason", index: n - 1 };
    const minutes = QUICK_PREP_MINUTES[n - 1];
    return minutes === undefined ? null : { kind: "accept", prepMinutes: minutes };
  }
  switch (e.key.toLowerCase()) {
    case "a":
      return e.shiftKey ? { kind: "bulk-accept" } : { kind: "accept" };
    case "r":
      return e.shiftKey ? { kind: "bulk-ready" } : { kind: "ready" };
    case "s":
      return { kind: "start" };
    case "x":
      return { kind: "reject" };
    case "m":
      return { kind: "mute" };
  }
  return null;
}

/** The on-screen legend, in the order a cook learns them. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: "← ↑ ↓ →", what: "move" },
  { keys: "Enter", what: "bump (accept / ready)" },
  { keys: "A", what: "accept" },
  { keys: "1–4", what: `accept ${QUICK_PREP_MINUTES.join("/")} min` },
  { keys: "S", what: "start" },
  { keys: "R", what: "ready" },
  { keys: "X", what: "reject" },
  { keys: "+ −", what: "prep ±5 min" },
  { keys: "Space", what: "select" },
  { keys: "⇧A / ⇧R", what: "accept / ready selected" },
  { keys: "M", what: "mute" },
  { keys: "Esc", what: "clear" },
];

/**
 * Moves the focus over columns of ticket ids. Left/right keep the row when they can (the
 * nearest ticket in the next non-empty column); up/down stay in the column.
 */
export function moveFocus(
  columns: ReadonlyArray<readonly string[]>,
  focused: string | null,
  dx: number,
  dy: number,
): string | null {
  const all = columns.flat();
  if (all.length === 0) return null;
  let col = -1;
  let row = -1;
  columns.forEach((ids, c) => {
    const r = focused ? ids.indexOf(focused) : -1;
    if (r >= 0) {
      col = c;
      row = r;
    }
  });
  if (col < 0) return all[0] ?? null;
  if (dy !== 0) {
    const ids = columns[col]!;
    return ids[Math.min(ids.length - 1, Math.max(0, row + dy))] ?? focused;
  }
  for (let c = col + dx; c >= 0 && c < columns.length; c += dx) {
    const ids = columns[c]!;
    if (ids.length > 0) return ids[Math.min(row, ids.length - 1)] ?? focused;
  }
  return focused;
}
