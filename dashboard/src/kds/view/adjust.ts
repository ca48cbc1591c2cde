/**
 * The item editor on an accepted ticket (E, or ✎ Change items): quantities only go down (0 takes
 * the item off), the new total shows as it changes, and the reason the customer is told is the
 * button that sends it.
 */
import { h } from "../../dom.ts";
import { money } from "../../format.ts";
import { ADJUST_REASONS, type OrderCommand } from "../actions.ts";
import type { Ticket } from "../board.ts";
import type { AdjustDraft } from "../screen.ts";
import { actionButton } from "./buttons.ts";

/** The draft, within what the order has now (another screen may have lowered it meanwhile). */
export function draftChanges(t: Ticket, draft: AdjustDraft): Array<{ index: number; quantity: number }> {
  return t.order.items.flatMap((item, index) => {
    const q = Math.min(item.quantity, draft.quantities[index] ?? item.quantity);
    return q < item.quantity ? [{ index, quantity: q }] : [];
  });
}

export function adjustEditor(t: Ticket, draft: AdjustDraft, why: string | undefined): HTMLElement {
  const o = t.order;
  const orderId = o.id;
  const changes = draftChanges(t, draft);
  const qty = (i: number) => changes.find((c) => c.index === i)?.quantity ?? o.items[i]?.quantity ?? 0;
  const total = o.items.reduce((sum, item, i) => sum + qty(i) * item.unitPriceCents, 0);
  const nothingLeft = o.items.every((_, i) => qty(i) === 0);
  const idle = changes.length === 0 || nothingLeft || why !== undefined;
  return h(
    "div",
    { class: "adjust", role: "group", "aria-label": "Change items" },
    h("p", { class: "adjust-title" }, "Change items — only fewer, never more"),
    h(
      "ul",
      { class: "adjust-items" },
      ...o.items.flatMap((item, i) =>
        item.quantity === 0
          ? []
          : [
              h(
                "li",
                { "data-index": i, class: qty(i) === 0 ? "removed" : undefined },
                actionButton({ kind: "adjust-step", orderId, index: i, delta: -1 }, "−", {
                  class: "act small",
                  "aria-label": `One fewer ${item.name}`,
                  disabled: qty(i) === 0,
                }),
                h("span", { class: "adjust-qty", "data-qty": qty(i) }, `${qty(i)}×`),
                h("span", { class: "adjust-name" }, item.name, qty(i) === 0 ? " — removed" : ""),
                actionButton({ kind: "adjust-step", orderId, index: i, delta: 1 }, "+", {
                  class: "act small",
                  "aria-label": `One more ${item.name} (up to ${item.quantity})`,
                  disabled: qty(i) >= item.quantity,
                }),
              ),
            ],
      ),
    ),
    h(
      "p",
      { class: "adjust-total", "data-total": total },
      `New total ${money(total)}`,
      h("span", { class: "was" }, ` (was ${money(o.totalCents)})`),
    ),
    nothingLeft
      ? h("p", { class: "adjust-warn" }, "At least one item stays — to drop the whole order, ask support.")
      : null,
    h("p", { class: "adjust-why" }, "Why? (the customer is told)"),
    h(
      "div",
      { class: "adjust-reasons" },
      ...ADJUST_REASONS.map((reason) => {
        const send: OrderCommand = { kind: "adjust", orderId, reason, changes };
        return actionButton(send, reason, { class: "act reason", disabled: idle, title: why });
      }),
      actionButton({ kind: "close-adjust" }, "Cancel (Esc)", { class: "act ghost" }),
    ),
  );
}
