/**
 * Delivery attempts on their way to the registry's deliveries log: buffered, and sent one batch
 * at a time (a pass's attempts in one call, never one call per event), in the order they were
 * made. The log is for people reading it; a registry outage never holds up a delivery — attempts
 * wait here (bounded) for the next batch.
 */
import { log } from "../../log.ts";
import type { DeliveryReport } from "../webhooks/protocol.ts";
import { errorMessage } from "./receiver.ts";
import { SharedRuns } from "./shared-runs.ts";

/** Attempts kept while the registry cannot be reached; the oldest go first. */
const MAX_BUFFERED = 1_000;

export class DeliveryReports {
  private buffer: DeliveryReport[] = [];
  private readonly runs = new SharedRuns();

  constructor(private readonly send: (reports: DeliveryReport[]) => Promise<void>) {}

  add(report: DeliveryReport): void {
    this.buffer.push(report);
    if (this.buffer.length > MAX_BUFFERED) this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
  }

  /** Sends what is buffered; a flush during a send is sent right after it. */
  flush(): Promise<void> {
    return this.runs.run("reports", false, async () => {
      if (this.buffer.length === 0) return;
      const batch = this.buffer;
      this.buffer = [];
      try {
        await this.send(batch);
      } catch (err) {
        this.buffer = [...batch, ...this.buffer].slice(-MAX_BUFFERED);
        log("warn", "webhook reports not recorded", { error: errorMessage(err) });
      }
    });
  }
}
