/**
 * The kitchen board's frame, built once: the top bar (banner), the board (main: banners, the
 * kitchen bar, the Scheduled strip, three columns, the bulk bar, notices), the key legend
 * (contentinfo), the kitchen panel (complementary) and the print area outside them all.
 */
import { h } from "../../dom.ts";
import { COLUMNS } from "../board.ts";
import { SHORTCUTS } from "../keys.ts";
import { buildPanel, type PanelDom } from "./panel.ts";
import { buildTopBar, type TopBarDom } from "./topbar.ts";

export interface LaneDom {
  section: HTMLElement;
  count: HTMLElement;
  late: HTMLElement;
  list: HTMLElement;
}

export interface BoardDom extends TopBarDom {
  root: HTMLElement;
  notLive: HTMLElement;
  alarm: HTMLElement;
  /** Paused / busy, said in words across the board. */
  availability: HTMLElement;
  /** A quiet line when customers' live views are behind (the room's DELIVERY_STATUS). */
  delivery: HTMLElement;
  soldOut: HTMLElement;
  allDay: HTMLElement;
  strip: LaneDom;
  columns: Record<(typeof COLUMNS)[number]["id"], LaneDom>;
  bulk: HTMLElement;
  notices: HTMLElement;
  help: HTMLElement;
  panel: PanelDom;
  /** What window.print() prints (hidden on screen). */
  print: HTMLElement;
}

export function buildBoard(kitchen: string, staff: string): BoardDom {
  const top = buildTopBar(kitchen, staff);
  const columns = {} as BoardDom["columns"];
  const grid = h("div", { class: "board" });
  for (const c of COLUMNS) {
    columns[c.id] = lane(c.id, c.title);
    grid.appendChild(columns[c.id].section);
  }
  const strip = lane("scheduled", "Scheduled", "strip");
  strip.section.hidden = true;
  const parts = {
    notLive: h("div", { class: "not-live", role: "alert", hidden: true }),
    alarm: h("div", { class: "alarm", role: "alert", hidden: true }),
    availability: h("div", { class: "availability-banner", role: "status", hidden: true }),
    delivery: h("div", { class: "delivery-notice", role: "status", hidden: true }),
    soldOut: h("div", { class: "sold-out-bar", "aria-label": "Sold out (86)", role: "group", hidden: true }),
    allDay: h("section", { class: "all-day", "aria-label": "All day", hidden: true }),
    bulk: h("div", { class: "bulk", hidden: true }),
    notices: h("div", { class: "notices", role: "status", "aria-live": "polite" }),
    help: h(
      "footer",
      { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
      ...SHORTCUTS.map((s) => h("span", { class: "shortcut" }, h("kbd", {}, s.keys), " ", s.what)),
    ),
  };
  const main = h(
    "main",
    { class: "kds-main" },
    parts.notLive,
    parts.alarm,
    parts.availability,
    parts.delivery,
    h("div", { class: "kitchen-bar" }, parts.soldOut, parts.allDay),
    strip.section,
    grid,
    parts.bulk,
  );
  // Inside the columns' area: a notice never covers the top bar, the bulk bar or the key legend.
  grid.appendChild(parts.notices);
  const panel = buildPanel(staff);
  const root = h("div", { class: "kds" }, top.header, main, parts.help, panel.root);
  const print = h("div", { class: "print-root", "aria-hidden": "true" });
  return { root, ...top, strip, columns, ...parts, panel, print };
}

function lane(id: string, title: string, kind: "column" | "strip" = "column"): LaneDom {
  const count = h("span", { class: "col-count" }, "0");
  const late = h("span", { class: "col-late" });
  const list = h("div", { class: "tickets" });
  const section = h(
    "section",
    { class: `${kind} col-${id}`, "data-column": id, "aria-label": title },
    h("h2", { class: "col-head" }, h("span", { class: "col-title" }, title), count, late),
    list,
  );
  return { section, count, late, list };
}
