/**
 * Buttons are built from Actions, and a click reads the Action back: the view never invents a
 * verb the display has to parse. The `data-*` attributes only describe the action (for tests,
 * styles and a curious engineer); what a click does is the Action the button was built with.
 */
import { type Attrs, h } from "../../dom.ts";
import { type Action, REJECT_REASONS } from "../actions.ts";

const ACTION_OF = new WeakMap<Element, Action>();

export function actionButton(action: Action, label: string, attrs: Attrs = {}): HTMLButtonElement {
  const button = h("button", { type: "button", ...describe(action), ...attrs }, label);
  ACTION_OF.set(button, action);
  return button;
}

/**
 * What a click on `target` does: touching a ticket is looking at it (focus), then the button
 * under the finger, if any, does its action.
 */
export function clickActions(target: Element): Action[] {
  const actions: Action[] = [];
  const card = target.closest<HTMLElement>(".ticket");
  if (card?.dataset.orderId) actions.push({ kind: "focus", orderId: card.dataset.orderId });
  const button = target.closest("[data-action]");
  const action = button ? ACTION_OF.get(button) : undefined;
  if (action) actions.push(action);
  return actions;
}

function describe(a: Action): Attrs {
  return {
    "data-action": a.kind,
    "data-order-id": "orderId" in a ? a.orderId : undefined,
    "data-prep": a.kind === "accept" ? a.prepMinutes : undefined,
    "data-delta": a.kind === "prep-time" || a.kind === "adjust-step" ? a.delta : undefined,
    "data-reason": a.kind === "reject" ? REJECT_REASONS.indexOf(a.reason) : undefined,
    "data-sold-out": a.kind === "reject" ? a.soldOut : undefined,
    "data-index": a.kind === "item-done" || a.kind === "adjust-step" ? a.index : undefined,
    "data-mode": a.kind === "availability" ? a.mode : undefined,
    "data-minutes": a.kind === "availability" ? a.minutes : undefined,
    "data-item": a.kind === "eighty-six" || a.kind === "un-eighty-six" ? a.name : undefined,
    "data-notice": a.kind === "dismiss" ? a.noticeId : undefined,
  };
}
