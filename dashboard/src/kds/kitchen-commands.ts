/**
 * Commands about the kitchen rather than one order (Additions v2): open / busy / paused, and the
 * sold-out ("86") list — one row per command, beside ORDER_COMMANDS: its frame (schema/ws.ts)
 * and its words. The 86 list is replaced as a whole (`MERCHANT_SET_SOLD_OUT`), so adding or
 * taking off one item sends the list this screen has with that one change.
 */
import type { Merchant, SoldOutItem } from "../../../schema/index.ts";
import type { KitchenCommand } from "./actions.ts";
import type { BoardState } from "./board.ts";
import type { CommandFrame, CommandRequest } from "./commands.ts";

interface KitchenCommandSpec<C extends KitchenCommand> {
  /** null: nothing would change. */
  frame: (command: C, merchant: Merchant, now: number) => CommandFrame | null;
  pending: (command: C) => string;
  /** As in "could not pause". */
  verb: (command: C) => string;
}

type KitchenCommandSpecs = { [K in KitchenCommand["kind"]]: KitchenCommandSpec<Extract<KitchenCommand, { kind: K }>> };

/** What BUSY adds to the prep time when the kitchen does not say. */
export const DEFAULT_BUSY_EXTRA_MINUTES = 10;

const sameItem = (a: string, b: string) => a.trim().toLocaleLowerCase("en") === b.trim().toLocaleLowerCase("en");

/** The 86 list in force at `now` (an entry whose time has passed is no longer sent back). */
export function soldOutNow(merchant: Merchant | null, now: number): SoldOutItem[] {
  return (merchant?.soldOut ?? []).filter((i) => Date.parse(i.until) > now);
}

export function isSoldOut(merchant: Merchant | null, name: string, now: number): boolean {
  return soldOutNow(merchant, now).some((i) => sameItem(i.name, name));
}

const soldOutFrame = (items: Array<{ name: string; until?: string }>): CommandFrame => ({
  action: "MERCHANT_SET_SOLD_OUT",
  payload: { items },
});

export const KITCHEN_COMMANDS: KitchenCommandSpecs = {
  availability: {
    frame: ({ mode, minutes, extraPrepMinutes }, _merchant, now) => ({
      action: "MERCHANT_SET_AVAILABILITY",
      payload: {
        mode,
        ...(mode !== "OPEN" && minutes ? { until: new Date(now + minutes * 60_000).toISOString() } : {}),
        ...(mode === "BUSY" ? { extraPrepMinutes: extraPrepMinutes ?? DEFAULT_BUSY_EXTRA_MINUTES } : {}),
      },
    }),
    pending: ({ mode }) => (mode === "OPEN" ? "Reopening…" : mode === "BUSY" ? "Setting busy…" : "Pausing…"),
    verb: ({ mode }) => (mode === "OPEN" ? "reopen" : mode === "BUSY" ? "set busy" : "pause"),
  },
  "eighty-six": {
    frame: ({ name }, merchant, now) => {
      const items = soldOutNow(merchant, now);
      if (!name.trim() || items.some((i) => sameItem(i.name, name))) return null;
      // No `until`: the room ends it at the end of the kitchen's day.
      return soldOutFrame([...items, { name: name.trim() }]);
    },
    pending: ({ name }) => `86 ${name}…`,
    verb: ({ name }) => `86 ${name}`,
  },
  "un-eighty-six": {
    frame: ({ name }, merchant, now) => {
      const items = soldOutNow(merchant, now);
      const left = items.filter((i) => !sameItem(i.name, name));
      return left.length === items.length ? null : soldOutFrame(left);
    },
    pending: ({ name }) => `Putting ${name} back on…`,
    verb: ({ name }) => `put ${name} back on`,
  },
};

/** The request for a kitchen command, or null: no kitchen known yet, or nothing would change. */
export function kitchenRequest(command: KitchenCommand, board: BoardState, now: number): CommandRequest | null {
  if (!board.merchant) return null;
  // The row for command.kind takes exactly this command; TypeScript cannot correlate the two.
  const spec = KITCHEN_COMMANDS[command.kind] as KitchenCommandSpec<KitchenCommand>;
  const frame = spec.frame(command, board.merchant, now);
  return frame && { command, frame, orderIds: [], pending: spec.pending(command) };
}

export function kitchenVerb(command: KitchenCommand): string {
  return (KITCHEN_COMMANDS[command.kind] as KitchenCommandSpec<KitchenCommand>).verb(command);
}
