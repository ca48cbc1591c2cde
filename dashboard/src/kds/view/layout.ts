/** The kitchen board's frame, built once: top bar, banners, three columns, bulk bar, notices, legend. */
import { h } from "../../dom.ts";
import { type Column, COLUMNS } from "../board.ts";
import { SHORTCUTS } from "../keys.ts";
import { actionButton } from "./buttons.ts";

export interface BoardDom {
  root: HTMLElement;
  /** The kitchen's name in the top bar (its id until the first SNAPSHOT names it). */
  kitchen: HTMLElement;
  link: HTMLElement;
  linkWord: HTMLElement;
  linkDetail: HTMLElement;
  soundButton: HTMLButtonElement;
  rushButton: HTMLButtonElement;
  notLive: HTMLElement;
  alarm: HTMLElement;
  columns: Record<Column, { section: HTMLElement; count: HTMLElement; late: HTMLElement; list: HTMLElement }>;
  bulk: HTMLElement;
  notices: HTMLElement;
  help: HTMLElement;
}

export function buildBoard(kitchen: string, staff: string): BoardDom {
  const { header, ...topBar } = buildTopBar(kitchen, staff);
  const { main, columns } = buildColumns();
  const parts = {
    notLive: h("div", { class: "not-live", role: "alert", hidden: true }),
    alarm: h("div", { class: "alarm", role: "alert", hidden: true }),
    bulk: h("div", { class: "bulk", hidden: true }),
    notices: h("aside", { class: "notices", "aria-live": "polite" }),
    help: h(
      "footer",
      { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
      ...SHORTCUTS.map((s) => h("span", { class: "shortcut" }, h("kbd", {}, s.keys), " ", s.what)),
    ),
  };
  const root = h(
    "div",
    { class: "kds" },
    header,
    parts.notLive,
    parts.alarm,
    main,
    parts.bulk,
    parts.notices,
    parts.help,
  );
  return { root, columns, ...topBar, ...parts };
}

type TopBar = Pick<BoardDom, "kitchen" | "link" | "linkWord" | "linkDetail" | "soundButton" | "rushButton"> & {
  header: HTMLElement;
};

function buildTopBar(kitchenName: string, staff: string): TopBar {
  const kitchen = h("span", { class: "kitchen" }, kitchenName);
  const linkWord = h("span", { class: "link-word" }, "CONNECTING");
  const linkDetail = h("span", { class: "link-detail" });
  const link = h(
    "div",
    { class: "link", id: "link-status", role: "status", "data-status": "connecting" },
    h("span", { class: "link-icon", "aria-hidden": "true" }),
    linkWord,
    linkDetail,
  );
  const soundButton = actionButton({ kind: "sound" }, "Enable sound", { class: "tool" });
  const rushButton = actionButton({ kind: "rush" }, "Simulate rush", { class: "tool rush", hidden: true });
  const header = h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("span", { class: "logo", "aria-hidden": "true" }, "▤"),
      h("span", { class: "brand-name" }, "Ticket Rail"),
      kitchen,
    ),
    link,
    h(
      "div",
      { class: "tools" },
      rushButton,
      soundButton,
      h("span", { class: "staff" }, staff),
      actionButton({ kind: "sign-out" }, "Sign out", { class: "tool" }),
    ),
  );
  return { header, kitchen, link, linkWord, linkDetail, soundButton, rushButton };
}

function buildColumns(): { main: HTMLElement; columns: BoardDom["columns"] } {
  const columns = {} as BoardDom["columns"];
  const main = h("main", { class: "board" });
  for (const c of COLUMNS) {
    const count = h("span", { class: "col-count" }, "0");
    const late = h("span", { class: "col-late" });
    const list = h("div", { class: "tickets" });
    const section = h(
      "section",
      { class: `column col-${c.id}`, "data-column": c.id, "aria-label": c.title },
      h("h2", { class: "col-head" }, h("span", { class: "col-title" }, c.title), count, late),
      list,
    );
    columns[c.id] = { section, count, late, list };
    main.appendChild(section);
  }
  return { main, columns };
}
