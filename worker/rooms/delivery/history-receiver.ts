/**
 * Projects committed changes into D1 (order history, cross-merchant queries). D1 is idempotent by
 * order version, so batches may be retried or repeated. In a rush it gets at most one batch per
 * window: a D1 call has a fixed cost (≈ 5 ms locally) whether it carries one change or a hundred.
 * The merchant's own settings (not stream events) ride along as side work.
 */
import type { Merchant } from "../../../schema/index.ts";
import type { HistoryBatch } from "../../db/projection.ts";
import type { StoredEvent } from "../event-log.ts";
import { auditEntryOf } from "../merchant/audit.ts";
import type { Delivered, DeliveryTargets, Receiver, SideWork } from "./receiver.ts";

/** History in D1 lags the room by at most this much more while changes keep coming. */
export const HISTORY_WINDOW_MS = 100;

/** The merchant's settings as the room last stored them, and the revision D1 has. */
export interface SettingsSource {
  current(): { merchant: Merchant; rev: number } | null;
  projectedRev(): number;
  markProjected(rev: number): void;
}

export class HistoryReceiver implements Receiver {
  readonly name = "history";
  readonly batch = 100;
  readonly minIntervalMs = HISTORY_WINDOW_MS;
  readonly maxCallsPerFlush = 20;
  readonly parksPoison = true;
  readonly side: SideWork;

  constructor(
    private readonly targets: () => DeliveryTargets,
    settings: SettingsSource,
  ) {
    const waiting = () => {
      const s = settings.current();
      return s && s.rev !== settings.projectedRev() ? s : null;
    };
    let failedAtMs: number | null = null;
    let lastError: string | undefined;
    this.side = {
      pending: () => (waiting() ? 1 : 0),
      dueMs: () => (waiting() ? (failedAtMs ?? 0) + (failedAtMs === null ? 0 : 1_000) : null),
      oldestSeq: () => null,
      status: (now) =>
        waiting()
          ? { oldestAgeMs: failedAtMs === null ? 0 : now - failedAtMs, ...(lastError ? { lastError } : {}) }
          : null,
      run: async (now, force) => {
        const s = waiting();
        if (!s || (!force && failedAtMs !== null && now < failedAtMs + 1_000)) return 0;
        try {
          await this.targets().history({ merchants: [s.merchant], changes: [] });
          settings.markProjected(s.rev);
          failedAtMs = null;
          lastError = undefined;
        } catch (err) {
          failedAtMs = now;
          lastError = err instanceof Error ? err.message : String(err);
        }
        return 1;
      },
    };
  }

  async deliver(events: StoredEvent[]): Promise<Delivered> {
    const batch: HistoryBatch = { merchants: [], changes: [] };
    for (const e of events) {
      const change = auditEntryOf(e);
      if (change) batch.changes.push(change);
    }
    if (batch.changes.length === 0) return { calls: 0 };
    await this.targets().history(batch);
    return { calls: 1 };
  }
}
