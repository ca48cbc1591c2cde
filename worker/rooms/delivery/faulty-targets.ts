/**
 * Receivers that fail on purpose, for dev mode (`POST /api/dev/faults`, driven by `npm run
 * chaos`) and for tests: while a receiver is "down" (until a time, or for its next N calls) its
 * calls throw before they reach it, or — with `afterDelivery` — they arrive but the
 * acknowledgement is lost. Delivery's own retries must do all the recovering.
 */
import type { HistoryBatch } from "../../db/projection.ts";
import type { DeliveryTargets } from "./receiver.ts";

export type FaultyReceiver = "orderRoom" | "history";

export interface Faults {
  /** Clock time until which relays to order rooms fail (0: never). */
  orderRoomUntil: number;
  /** Clock time until which D1 batches fail. */
  historyUntil: number;
  /** How many of the next calls fail, whatever the times. */
  failNext: Record<FaultyReceiver, number>;
  /** Deliver, then lose the acknowledgement, instead of failing before. */
  afterDelivery: boolean;
  /** D1 batches that always fail (a change D1 can never take), whatever else. */
  poison?: (batch: HistoryBatch) => boolean;
  /** Told of every injected failure (counting). */
  onFault?: (receiver: FaultyReceiver) => void;
  /** Calls made to each receiver so far, failed or not, and how many changes each carried. */
  calls: Record<FaultyReceiver, number[]>;
}

export function noFaults(): Faults {
  return {
    orderRoomUntil: 0,
    historyUntil: 0,
    failNext: { orderRoom: 0, history: 0 },
    afterDelivery: false,
    calls: { orderRoom: [], history: [] },
  };
}

/** Wraps `real` so it fails as `faults` says at the time `clock` gives; `faults` may change later. */
export function faultyTargets(real: DeliveryTargets, faults: Faults, clock: () => number): DeliveryTargets {
  const down = (receiver: FaultyReceiver): boolean => {
    if (faults.failNext[receiver] > 0) {
      faults.failNext[receiver]--;
      return true;
    }
    return clock() < (receiver === "orderRoom" ? faults.orderRoomUntil : faults.historyUntil);
  };
  const fail = (receiver: FaultyReceiver, what: string): never => {
    faults.onFault?.(receiver);
    throw new Error(`fault: ${what}`);
  };
  /** Runs `call` (carrying `size` changes) failing before or after it, as the faults say. */
  const guarded = async <T>(receiver: FaultyReceiver, size: number, call: () => Promise<T>): Promise<T> => {
    // Bounded: a long dev run must not grow this without end.
    if (faults.calls[receiver].length < 100_000) faults.calls[receiver].push(size);
    const isDown = down(receiver);
    if (isDown && !faults.afterDelivery) fail(receiver, `${receiver} unreachable`);
    const result = await call();
    if (isDown) fail(receiver, `${receiver} acknowledgement lost`);
    return result;
  };
  return {
    orderRoom: (orderId, relays) => guarded("orderRoom", relays.length, () => real.orderRoom(orderId, relays)),
    history: (batch) =>
      guarded("history", batch.changes.length, () => {
        if (faults.poison?.(batch)) fail("history", "D1 refuses this change");
        return real.history(batch);
      }),
    // Webhook endpoints fail by themselves in tests (they are the tests' own endpoints).
    webhook: (request) => real.webhook(request),
  };
}

/** Dev mode's faults (`POST /api/dev/faults`): outages from now for the given times, as ISO strings. */
export function extendFaults(
  faults: Faults,
  spec: { failOrderRoomRelaysForMs?: number; failProjectionForMs?: number; afterDelivery?: boolean },
  now: number,
): { orderRoomUntil: string | null; projectionUntil: string | null } {
  if (spec.failOrderRoomRelaysForMs) {
    faults.orderRoomUntil = Math.max(faults.orderRoomUntil, now + spec.failOrderRoomRelaysForMs);
  }
  if (spec.failProjectionForMs) faults.historyUntil = Math.max(faults.historyUntil, now + spec.failProjectionForMs);
  faults.afterDelivery = spec.afterDelivery ?? false;
  const iso = (t: number) => (t > now ? new Date(t).toISOString() : null);
  return { orderRoomUntil: iso(faults.orderRoomUntil), projectionUntil: iso(faults.historyUntil) };
}
