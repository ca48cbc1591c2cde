/**
 * What the whole kitchen needs to see at a glance, on every screen: availability (the top bar's
 * pill, and a banner while busy or paused, with why and a one-tap way back), the 86 list, and the
 * "all day" counts for the station this screen shows.
 */
import type { Availability, DeliveryStatus, Merchant, Station } from "../../../../schema/index.ts";
import { h, setText } from "../../dom.ts";
import { timeOfDay } from "../../format.ts";
import type { AllDayLine } from "../allday.ts";
import { describeAvailability } from "../availability.ts";
import { soldOutNow } from "../kitchen-commands.ts";
import { actionButton } from "./buttons.ts";

export function renderAvailability(
  pill: HTMLButtonElement,
  banner: HTMLElement,
  merchant: Merchant | null,
  live: boolean,
): void {
  const a: Availability = merchant?.availability ?? { mode: "OPEN" };
  const words = describeAvailability(a);
  pill.dataset.mode = a.mode;
  setText(pill, words.short);
  pill.setAttribute("aria-label", `${words.long}${words.why ? ` ${words.why}.` : ""} Open the kitchen panel.`);
  const sig = JSON.stringify([a, live]);
  if (banner.dataset.sig === sig) return;
  banner.dataset.sig = sig;
  banner.hidden = a.mode === "OPEN";
  banner.dataset.mode = a.mode;
  if (a.mode === "OPEN") {
    banner.replaceChildren();
    return;
  }
  const back = a.mode === "PAUSED" ? "Reopen now" : "Back to normal";
  banner.replaceChildren(
    h("span", { class: "avail-icon", "aria-hidden": "true" }, words.icon),
    h(
      "div",
      { class: "avail-text" },
      h("strong", {}, words.long),
      words.why ? h("span", { class: "avail-why" }, words.why) : null,
    ),
    actionButton({ kind: "availability", mode: "OPEN" }, back, { class: "act", disabled: !live }),
  );
}

export function renderSoldOut(el: HTMLElement, merchant: Merchant | null, now: number, live: boolean): void {
  const items = soldOutNow(merchant, now);
  const sig = JSON.stringify([items, live]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.hidden = items.length === 0;
  el.replaceChildren(
    h("span", { class: "bar-title" }, h("span", { "aria-hidden": "true" }, "⊘ "), "86"),
    ...items.map((i) =>
      h(
        "span",
        { class: "sold-out-chip", "data-item": i.name, title: `Sold out until ${timeOfDay(i.until)}` },
        h("span", {}, i.name),
        actionButton({ kind: "un-eighty-six", name: i.name }, "✕", {
          class: "chip-x",
          "aria-label": `Put ${i.name} back on`,
          disabled: !live,
        }),
      ),
    ),
  );
}

export function renderAllDay(el: HTMLElement, lines: AllDayLine[], station: Station | null): void {
  const sig = JSON.stringify([lines, station?.id]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.hidden = lines.length === 0;
  el.replaceChildren(
    h("h2", { class: "bar-title" }, station ? `All day · ${station.name}` : "All day"),
    h(
      "ul",
      // Scrolls sideways when long: reachable by keyboard too.
      { class: "all-day-list", tabindex: 0, "aria-label": "Items to make, all tickets" },
      ...lines.map((l) =>
        h(
          "li",
          { "data-item": l.name, "data-cooking": l.cooking, "data-incoming": l.incoming },
          h("strong", { class: "all-day-count" }, String(l.cooking)),
          " ",
          l.name,
          l.incoming > 0 ? h("span", { class: "all-day-new" }, ` +${l.incoming} new`) : null,
        ),
      ),
    ),
  );
}

/**
 * Quiet on purpose: the kitchen can do nothing about it but should know that customers are not
 * seeing its changes live (their apps catch up once the relays recover; nothing is lost).
 */
export function renderDelivery(el: HTMLElement, delivery: DeliveryStatus | null): void {
  const behind = delivery?.customersBehind === true;
  el.hidden = !behind;
  const sig = behind ? String(delivery?.pending) : "";
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(
    ...(behind
      ? [
          h("span", { class: "delivery-icon", "aria-hidden": "true" }, "⏳"),
          ` Customers' live updates are delayed (${delivery?.pending} waiting) — nothing is lost, they catch up on their own.`,
        ]
      : []),
  );
}
