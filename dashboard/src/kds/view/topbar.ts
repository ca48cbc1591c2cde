/** The top bar: the kitchen's name (the page's one h1), its availability, the connection, this screen's tools. */
import { h } from "../../dom.ts";
import { actionButton } from "./buttons.ts";

export interface TopBarDom {
  header: HTMLElement;
  /** The kitchen's name (its id until the first SNAPSHOT names it). */
  kitchen: HTMLElement;
  /** Which station this screen shows (hidden when all). */
  stationTag: HTMLElement;
  availabilityButton: HTMLButtonElement;
  link: HTMLElement;
  linkWord: HTMLElement;
  linkDetail: HTMLElement;
  panelButton: HTMLButtonElement;
  soundButton: HTMLButtonElement;
  rushButton: HTMLButtonElement;
}

export function buildTopBar(kitchenName: string, staff: string): TopBarDom {
  const kitchen = h("h1", { class: "kitchen" }, kitchenName);
  const stationTag = h("span", { class: "station-tag", hidden: true });
  const linkWord = h("span", { class: "link-word" }, "CONNECTING");
  const linkDetail = h("span", { class: "link-detail" });
  const link = h(
    "div",
    { class: "link", id: "link-status", role: "status", "data-status": "connecting" },
    h("span", { class: "link-icon", "aria-hidden": "true" }),
    linkWord,
    linkDetail,
  );
  const availabilityButton = actionButton({ kind: "toggle-panel" }, "● OPEN", {
    class: "availability-pill",
    "data-mode": "OPEN",
    title: "Taking orders? Pause, busy, 86 (K)",
  });
  const panelButton = actionButton({ kind: "toggle-panel" }, "☰ Kitchen", {
    class: "tool",
    "aria-expanded": "false",
    "aria-controls": "kitchen-panel",
  });
  const soundButton = actionButton({ kind: "sound" }, "Enable sound", { class: "tool" });
  const rushButton = actionButton({ kind: "rush" }, "⚡ Rush", {
    class: "tool rush",
    hidden: true,
    title: "Simulate a rush (dev only)",
  });
  const header = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "▤"), kitchen, stationTag),
    availabilityButton,
    link,
    h(
      "div",
      { class: "tools" },
      rushButton,
      panelButton,
      soundButton,
      h("span", { class: "staff", title: `Signed in: ${staff} (sign out in the kitchen panel)` }, staff),
    ),
  );
  return {
    header,
    kitchen,
    stationTag,
    availabilityButton,
    link,
    linkWord,
    linkDetail,
    panelButton,
    soundButton,
    rushButton,
  };
}
