/**
 * The printed kitchen ticket and bag label (print-model.ts says what they contain). Drawn into the
 * print area, which only the print stylesheet shows (app.css `@media print`), then the browser's
 * print dialog — silent with Chrome's `--kiosk-printing`.
 */
import { h } from "../../dom.ts";
import type { PrintJob } from "../print-model.ts";
import { allergyBadge, noteText } from "./notes.ts";

export function drawPrint(root: HTMLElement, jobs: readonly PrintJob[]): void {
  root.replaceChildren(...jobs.flatMap((job) => [kitchenTicket(job), bagLabel(job)]));
}

function kitchenTicket(job: PrintJob): HTMLElement {
  return h(
    "section",
    { class: "slip slip-ticket", "data-order-id": job.orderId },
    h("p", { class: "slip-head" }, h("span", {}, job.kitchen), h("span", {}, `KITCHEN · ${job.placed}`)),
    h("p", { class: "slip-number" }, job.number),
    job.scheduled ? h("p", { class: "slip-scheduled" }, `◷ ${job.scheduled}`) : null,
    allergyBadge(job.allergens),
    h(
      "ul",
      { class: "slip-items" },
      ...job.lines.map((l) =>
        h(
          "li",
          {},
          h("strong", {}, `${l.quantity}× ${l.name}`),
          l.notes ? h("span", { class: "slip-note" }, "↳ ", ...noteText(l.notes)) : null,
        ),
      ),
    ),
    job.removed > 0
      ? h("p", { class: "slip-small" }, `${job.removed} item${job.removed > 1 ? "s" : ""} taken off after accept`)
      : null,
    job.note ? h("p", { class: "slip-order-note" }, "✎ ", ...noteText(job.note)) : null,
    h("p", { class: "slip-small" }, [job.ready, job.driver].filter(Boolean).join(" · ")),
  );
}

function bagLabel(job: PrintJob): HTMLElement {
  const who = [job.customer, job.fulfilment].filter(Boolean).join(" · ");
  return h(
    "section",
    { class: "slip slip-label", "data-order-id": job.orderId },
    h("p", { class: "slip-number big" }, job.number),
    who ? h("p", { class: "slip-who" }, who) : null,
    job.scheduled ? h("p", { class: "slip-scheduled" }, `◷ ${job.scheduled}`) : null,
    allergyBadge(job.allergens),
    h("p", { class: "slip-summary" }, job.lines.map((l) => `${l.quantity}× ${l.name}`).join(" · ")),
    h(
      "p",
      { class: "slip-small" },
      [job.driver, job.paid === null ? null : job.paid ? "PAID" : "NOT PAID — collect payment", job.kitchen]
        .filter(Boolean)
        .join(" · "),
    ),
  );
}
