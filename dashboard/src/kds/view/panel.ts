/**
 * The kitchen panel (K, or the top bar's Kitchen button): whether the kitchen takes orders
 * (open / busy / paused, timed or not), the 86 list with its add and back-on controls, and this
 * screen's own settings (station, auto-print). The form and inputs are built once so typing
 * survives re-renders; the lists and buttons are redrawn only when they change.
 */
import type { Availability, Merchant } from "../../../../schema/index.ts";
import { h } from "../../dom.ts";
import { timeOfDay } from "../../format.ts";
import type { KitchenCommand } from "../actions.ts";
import { soldOutNow } from "../kitchen-commands.ts";
import { actionButton } from "./buttons.ts";
import { describeAvailability } from "../availability.ts";

export interface PanelDom {
  root: HTMLElement;
  state: HTMLElement;
  modes: HTMLElement;
  soldOutList: HTMLElement;
  itemInput: HTMLInputElement;
  itemNames: HTMLDataListElement;
  station: HTMLSelectElement;
  autoPrint: HTMLInputElement;
}

/** The choices a kitchen has, as commands: one tap each. */
export const AVAILABILITY_CHOICES: ReadonlyArray<{ command: KitchenCommand; label: string }> = [
  { command: { kind: "availability", mode: "OPEN" }, label: "● Open — take orders" },
  { command: { kind: "availability", mode: "BUSY", extraPrepMinutes: 10 }, label: "▲ Busy +10 min" },
  { command: { kind: "availability", mode: "BUSY", extraPrepMinutes: 20 }, label: "▲ Busy +20 min" },
  { command: { kind: "availability", mode: "PAUSED", minutes: 15 }, label: "■ Pause 15 min" },
  { command: { kind: "availability", mode: "PAUSED", minutes: 30 }, label: "■ Pause 30 min" },
  { command: { kind: "availability", mode: "PAUSED", minutes: 60 }, label: "■ Pause 1 h" },
  { command: { kind: "availability", mode: "PAUSED" }, label: "■ Pause until reopened" },
];

export function buildPanel(staff: string): PanelDom {
  const itemNames = h("datalist", { id: "menu-items" });
  const itemInput = h("input", {
    id: "eighty-six-name",
    name: "item",
    list: "menu-items",
    autocomplete: "off",
    required: true,
    maxlength: 200,
    placeholder: "Item name, e.g. Lemonade",
  });
  const station = h("select", { id: "station-picker", "data-input": "station" });
  const autoPrint = h("input", { type: "checkbox", id: "auto-print", "data-input": "auto-print" });
  const state = h("p", { class: "panel-state" });
  const modes = h("div", { class: "panel-modes", role: "group", "aria-label": "Taking orders" });
  const soldOutList = h("ul", { class: "panel-sold-out" });
  const root = h(
    "aside",
    { class: "kitchen-panel", id: "kitchen-panel", "aria-label": "Kitchen", hidden: true },
    h(
      "div",
      { class: "panel-head" },
      h("h2", {}, "Kitchen"),
      actionButton({ kind: "toggle-panel" }, "✕ Close (K)", { class: "tool" }),
    ),
    h("section", { "aria-labelledby": "panel-taking" }, h("h3", { id: "panel-taking" }, "Taking orders"), state, modes),
    h(
      "section",
      { "aria-labelledby": "panel-86" },
      h("h3", { id: "panel-86" }, "Sold out (86)"),
      soldOutList,
      h(
        "form",
        { class: "panel-form", "data-form": "eighty-six" },
        h("label", { for: itemInput.id }, "86 an item until the end of the day"),
        h("div", { class: "panel-row" }, itemInput, h("button", { type: "submit", class: "act danger" }, "⊘ 86 it")),
        itemNames,
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "panel-screen" },
      h("h3", { id: "panel-screen" }, "This screen"),
      h("label", { for: station.id }, "Station"),
      station,
      h("label", { class: "check" }, autoPrint, " Print a kitchen ticket and bag label on every accept"),
      h(
        "div",
        { class: "panel-row panel-signed-in" },
        h("span", {}, "Signed in: ", h("strong", {}, staff)),
        actionButton({ kind: "sign-out" }, "Sign out", { class: "act" }),
      ),
    ),
  );
  return { root, state, modes, soldOutList, itemInput, itemNames, station, autoPrint };
}

export interface PanelView {
  open: boolean;
  merchant: Merchant | null;
  station: string | null;
  autoPrint: boolean;
  /** Item names on the board (suggestions for the 86 input). */
  itemNames: string[];
  /** A kitchen request in flight: its words, and every kitchen button waits. */
  pending: string | null;
  live: boolean;
}

export function renderPanel(dom: PanelDom, v: PanelView, now: number): void {
  dom.root.hidden = !v.open;
  if (!v.open) return;
  const soldOut = soldOutNow(v.merchant, now);
  const sig = JSON.stringify([v.merchant?.availability, soldOut, v.merchant?.stations, v.station, v.pending, v.live]);
  if (dom.root.dataset.sig !== sig) {
    dom.root.dataset.sig = sig;
    const disabled = !v.live || v.pending !== null;
    const a: Availability = v.merchant?.availability ?? { mode: "OPEN" };
    dom.state.textContent = v.pending ?? describeAvailability(a).long;
    dom.modes.replaceChildren(
      ...AVAILABILITY_CHOICES.map(({ command, label }) =>
        actionButton(command, label, {
          class: `act mode-${command.kind === "availability" ? command.mode : ""}`,
          disabled,
        }),
      ),
    );
    dom.soldOutList.replaceChildren(
      ...(soldOut.length === 0
        ? [h("li", { class: "empty" }, "Nothing is 86'd.")]
        : soldOut.map((i) =>
            h(
              "li",
              { "data-item": i.name },
              h("span", {}, "⊘ ", h("strong", {}, i.name), ` until ${timeOfDay(i.until)}`),
              actionButton({ kind: "un-eighty-six", name: i.name }, "Back on", { class: "act", disabled }),
            ),
          )),
    );
    const stations = v.merchant?.stations ?? [];
    dom.station.replaceChildren(
      h("option", { value: "" }, "All stations (expo)"),
      ...stations.map((s) => h("option", { value: s.id }, s.name)),
    );
    dom.station.value = v.station && stations.some((s) => s.id === v.station) ? v.station : "";
    dom.station.disabled = stations.length === 0;
  }
  const names = v.itemNames.join("\n");
  if (dom.itemNames.dataset.sig !== names) {
    dom.itemNames.dataset.sig = names;
    dom.itemNames.replaceChildren(...v.itemNames.map((n) => h("option", { value: n })));
  }
  dom.autoPrint.checked = v.autoPrint;
}
