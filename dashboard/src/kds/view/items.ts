/**
 * A card's item lines: the lines this screen's station makes (every line on the expo's screen),
 * each a tap target that marks it done at its station while the ticket is cooking; notes with
 * allergens marked; lines taken off after acceptance struck through and labelled.
 */
import type { Order } from "../../../../schema/index.ts";
import { h } from "../../dom.ts";
import { money } from "../../format.ts";
import { type Action, isPossible } from "../actions.ts";
import { allergenParts } from "../allergens.ts";
import type { Ticket } from "../board.ts";
import { otherLines, stationLines } from "../stations.ts";
import { actionButton } from "./buttons.ts";
import { noteText } from "./notes.ts";
import type { ViewState } from "./state.ts";

export function itemList(t: Ticket, v: ViewState, why: string | undefined, now: number): HTMLElement {
  const o = t.order;
  const others = otherLines(o, v.station);
  return h(
    "ul",
    { class: "items" },
    ...stationLines(o, v.station).map((i) => itemLine(t, i, v, why, now)),
    others > 0
      ? h("li", { class: "other-station" }, `+ ${others} item${others > 1 ? "s" : ""} for other stations`)
      : null,
  );
}

function itemLine(t: Ticket, index: number, v: ViewState, why: string | undefined, now: number): HTMLElement {
  const item = t.order.items[index]!;
  const removed = item.quantity === 0;
  const done = item.doneAt !== undefined;
  const row = [
    h("span", { class: "qty" }, removed ? "0×" : `${item.quantity}×`),
    h("span", { class: "item-name" }, item.name),
    removed ? h("span", { class: "item-tag" }, "REMOVED") : null,
    done ? h("span", { class: "item-tag done-tag" }, "✓ DONE") : null,
  ];
  const bump: Action = { kind: "item-done", orderId: t.order.id, index, done: !done };
  const tappable = !removed && isPossible(bump, v.board, now);
  const rowEl = tappable
    ? actionButton(bump, "", {
        class: "item-row",
        "aria-pressed": String(done),
        "aria-label": `${item.quantity}× ${item.name}: ${done ? "done — tap to undo" : "mark done"}`,
        disabled: why !== undefined,
      })
    : h("span", { class: "item-row" });
  for (const part of row) if (part) rowEl.appendChild(part);
  return h(
    "li",
    { class: `item${done ? " done" : ""}${removed ? " removed" : ""}`, "data-index": index },
    rowEl,
    item.notes ? h("span", { class: "item-note" }, "↳ ", ...noteText(allergenParts(item.notes, v.allergens))) : null,
  );
}

/** The last change after acceptance, and the total now: "✎ Changed 19:02 — Lemonade 2→1 · “Item ran out” · $24.50". */
export function adjustmentLine(o: Order): HTMLElement | null {
  const last = o.adjustments?.at(-1);
  if (!last) return null;
  const what = last.changes
    .map((c) => {
      const name = o.items[c.index]?.name ?? `item ${c.index + 1}`;
      return c.to === 0 ? `${name} removed` : `${name} ${c.from}→${c.to}`;
    })
    .join(", ");
  return h(
    "p",
    { class: "adjusted", "data-adjustments": o.adjustments?.length ?? 0 },
    h("span", { "aria-hidden": "true" }, "✎ "),
    `Changed: ${what} · “${last.reason}” · now ${money(o.totalCents)}`,
  );
}
