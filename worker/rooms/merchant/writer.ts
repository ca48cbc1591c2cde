/**
 * The merchant room's write path. An operation runs in ONE SQLite transaction: its order rows,
 * their stream events (next seq), schedule entries and its idempotency record commit together or
 * not at all; only then are the events handed on (broadcast, delivery). So an event exists
 * exactly when its change does, across hibernation, eviction and restarts.
 */
import type { ErrorBody, Order, StreamEventName, Via } from "../../../schema/index.ts";
import { type Change, decide, type Principal, SYSTEM_DEADLINE } from "../../domain/changes.ts";
import type { EventLog } from "../event-log.ts";
import { merchantEventFrame } from "../frames.ts";
import type { IdempotencyStore } from "./idempotency-store.ts";
import type { OrderStore } from "./orders.ts";
import type { Schedule } from "./schedule.ts";
import type { MerchantSettings } from "./settings.ts";

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Who is calling and how: every operation takes one. */
export interface CallContext {
  principal: Principal;
  via: Via;
  /** The REST Idempotency-Key or the socket requestId: one namespace per caller. */
  key?: string;
}

export const refused = (code: ErrorBody["code"], message: string): Result<never> => ({
  ok: false,
  error: { code, message },
});
export const notFound = (what: string): Result<never> => refused("NOT_FOUND", `${what} not found`);

/** JSON with sorted keys: a request's fingerprint must not depend on how its body was built. */
export function fingerprintOf(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export interface WriterParts {
  storage: DurableObjectStorage;
  log: EventLog;
  orders: OrderStore;
  schedule: Schedule;
  idempotency: IdempotencyStore;
  settings: MerchantSettings;
  clock: () => number;
}

export class Writer {
  /** Envelopes committed by the running operation, handed on once it commits. */
  private committed: string[] = [];

  constructor(private readonly p: WriterParts) {}

  /**
   * Runs one operation: idempotency, then `work` and its commits in one transaction. Returns
   * the result and the committed envelopes (empty for a replayed or refused operation).
   */
  execute<T>(
    call: CallContext,
    request: unknown,
    work: (now: Date) => Result<T>,
  ): { result: Result<T>; envelopes: string[] } {
    const nowMs = this.p.clock();
    const scope = `${call.principal.role}:${call.principal.id}`;
    const fingerprint = fingerprintOf(request);
    if (call.key !== undefined) {
      const prior = this.p.idempotency.lookup(scope, call.key, fingerprint);
      if (prior.kind === "same") return { result: JSON.parse(prior.resultJson) as Result<T>, envelopes: [] };
      if (prior.kind === "mismatch") {
        return { result: refused("IDEMPOTENCY_MISMATCH", "this key was used for a different request"), envelopes: [] };
      }
    }
    this.committed = [];
    let result: Result<T>;
    try {
      result = this.p.storage.transactionSync(() => {
        const r = work(new Date(nowMs));
        if (call.key !== undefined) this.p.idempotency.store(scope, call.key, fingerprint, JSON.stringify(r), nowMs);
        return r;
      });
    } catch (err) {
      // Nothing was committed: forget what the failed attempt buffered or cached.
      this.committed = [];
      this.p.log.reload();
      this.p.settings.reload();
      throw err;
    }
    const envelopes = this.committed;
    this.committed = [];
    return { result, envelopes };
  }

  /** Decides one change of one order and commits it; inside execute's transaction. */
  applyChange(call: CallContext, orderId: string, change: Change, now: Date): Result<Order> {
    let before = this.p.orders.get(orderId);
    if (!before) return notFound("order");
    if (change.kind !== "EXPIRE") before = this.expireIfDue(before, now);
    const decision = decide(before, change, call.principal, now, this.defaultPrepMinutes());
    if (!decision.ok) return decision;
    this.commitOrder(before, decision.order, decision.event, call, now);
    return { ok: true, value: decision.order };
  }

  private defaultPrepMinutes(): number {
    return this.p.settings.get()?.defaultPrepMinutes ?? 15;
  }

  /**
   * An order still PLACED at acceptBy is EXPIRED (contract), whether or not the alarm has run:
   * alarms can be late or retried, and a change must never slip in between the deadline and the
   * alarm (an accept a minute after acceptBy). The expiry is committed as the system's own change,
   * before the requested one is decided against it.
   */
  private expireIfDue(order: Order, now: Date): Order {
    if (order.status !== "PLACED" || now.getTime() < Date.parse(order.acceptBy)) return order;
    const expiry = decide(order, { kind: "EXPIRE" }, SYSTEM_DEADLINE, now, this.defaultPrepMinutes());
    if (!expiry.ok) return order;
    this.commitOrder(order, expiry.order, expiry.event, { principal: SYSTEM_DEADLINE, via: "system" }, now);
    return expiry.order;
  }

  /** Writes one change of an order: its row, its stream event, its deadline. Inside a transaction. */
  commitOrder(before: Order | null, order: Order, event: StreamEventName, call: CallContext, now: Date): void {
    const nowMs = now.getTime();
    this.p.orders.put(order);
    const actor = { role: call.principal.role, id: call.principal.id };
    const stored = this.p.log.append(order.id, order.version, call.via, nowMs, (seq) =>
      merchantEventFrame(event, seq, { order, actor }, now.toISOString(), call.key),
    );
    if (!before && order.status === "PLACED") this.p.schedule.set("expire", order.id, Date.parse(order.acceptBy));
    else if (before?.status === "PLACED" && order.status !== "PLACED") this.p.schedule.clear("expire", order.id);
    this.committed.push(stored.envelope);
  }
}

export type { Principal };
