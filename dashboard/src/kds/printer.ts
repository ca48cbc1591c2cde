/**
 * Printing on this screen: a kitchen ticket and a bag label per order, through the browser's
 * print dialog and the print stylesheet (app.css `@media print`). With Chrome started with
 * `--kiosk-printing` the dialog is skipped and the default printer prints at once — which is
 * what "auto-print on accept" (a per-screen setting, kept in this browser) is for.
 */
import type { PrintJob } from "./print-model.ts";
import { drawPrint } from "./view/print.ts";

const AUTO_PRINT_KEY = "ticketRail.autoPrint";

export class Printer {
  autoPrint: boolean;
  /** How many print jobs this screen has sent (tests read it from window.__ticketRail). */
  printed = 0;

  constructor(private readonly area: HTMLElement) {
    this.autoPrint = localStorage.getItem(AUTO_PRINT_KEY) === "1";
  }

  toggleAutoPrint(): void {
    this.autoPrint = !this.autoPrint;
    localStorage.setItem(AUTO_PRINT_KEY, this.autoPrint ? "1" : "0");
  }

  print(jobs: readonly PrintJob[]): void {
    if (jobs.length === 0) return;
    drawPrint(this.area, jobs);
    this.printed++;
    // Blocks until the dialog closes in an ordinary browser; returns at once under --kiosk-printing.
    window.print();
  }
}
