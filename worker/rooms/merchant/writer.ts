/**
 * The merchant room's write path. An operation runs in ONE SQLite transaction: its order rows,
 * their stream events (next seq), schedule entries and its idempotency record commit together or
 * not at all; only then are the events handed on (broadcast, delivery). So an event exists
 * exactly when its change does, across hibernation, eviction and restarts.
 */
import type {
  Availability,
  ErrorBody,
  Merchant,
  MerchantEventEnvelope,
  Order,
  SoldOutItem,
  StreamEventName,
  Via,
} from "../../../schema/index.ts";
import { availabilityAt, defaultPrepMinutes, soldOutAt } from "../../domain/availability.ts";
import { type Change, decide, type Principal, SYSTEM_DEADLINE } from "../../domain/changes.ts";
import type { EventLog } from "../event-log.ts";
import { merchantChangeFrame, orderChangeFrame } from "../frames.ts";
import { autoPauseRules, merchantDueTimes, SYSTEM_AVAILABILITY } from "./merchant-changes.ts";
import type { ExternalIds } from "./external-ids.ts";
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
  externalIds: ExternalIds;
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
    const decision = decide(before, change, call.principal, now, this.defaultPrepMinutes(now.getTime()));
    if (!decision.ok) return decision;
    this.commitOrder(before, decision.order, decision.event, call, now);
    return { ok: true, value: decision.order };
  }

  private defaultPrepMinutes(now = this.p.clock()): number {
    const merchant = this.p.settings.get();
    return merchant ? defaultPrepMinutes(merchant, now) : 15;
  }

  /**
   * An order still PLACED at acceptBy is EXPIRED (contract), whether or not the alarm has run:
   * alarms can be late or retried, and a change must never slip in between the deadline and the
   * alarm (an accept a minute after acceptBy). The expiry is committed as the system's own change,
   * before the requested one is decided against it.
   */
  private expireIfDue(order: Order, now: Date): Order {
    if (order.status !== "PLACED" || now.getTime() < Date.parse(order.acceptBy)) return order;
    const expiry = decide(order, { kind: "EXPIRE" }, SYSTEM_DEADLINE, now, this.defaultPrepMinutes(now.getTime()));
    if (!expiry.ok) return order;
    this.commitOrder(order, expiry.order, expiry.event, { principal: SYSTEM_DEADLINE, via: "system" }, now);
    return expiry.order;
  }

  /** Writes one change of an order: its row, its stream event, its times. Inside a transaction. */
  commitOrder(before: Order | null, order: Order, event: StreamEventName, call: CallContext, now: Date): void {
    const nowMs = now.getTime();
    const actor = { role: call.principal.role, id: call.principal.id };
    const stored = this.p.log.append(order.id, order.version, call.via, nowMs, (seq) =>
      orderChangeFrame(event, seq, { order, actor }, now.toISOString(), call.key),
    );
    this.p.orders.put(order, before, stored.seq);
    this.committed.push(stored.envelope);
    if (!before && order.status === "PLACED") this.p.schedule.set("expire", order.id, Date.parse(order.acceptBy));
    else if (before?.status === "PLACED" && order.status !== "PLACED") this.p.schedule.clear("expire", order.id);
    this.scheduleFire(before, order);
    this.countUnanswered(event, now);
  }

  /** A scheduled order fires at fireAt while it is PLACED or ACCEPTED and has not fired. */
  private scheduleFire(before: Order | null, order: Order): void {
    const waiting = (o: Order | null) =>
      o?.fireAt !== undefined && !o.firedAt && (o.status === "PLACED" || o.status === "ACCEPTED") ? o.fireAt : null;
    const was = waiting(before);
    const is = waiting(order);
    if (is === was) return;
    if (is) this.p.schedule.set("fire", order.id, Date.parse(is));
    else this.p.schedule.clear("fire", order.id);
  }

  /**
   * Auto-pause (Additions v2): after N orders in a row expire unanswered the kitchen is not
   * there; the merchant pauses itself, and the board says why when a screen comes back.
   */
  private countUnanswered(event: StreamEventName, now: Date): void {
    if (event === "MERCHANT_ACCEPTED" || event === "MERCHANT_REJECTED") this.p.settings.setCounter("expiredInARow", 0);
    if (event !== "ORDER_EXPIRED") return;
    const n = this.p.settings.counter("expiredInARow") + 1;
    this.p.settings.setCounter("expiredInARow", n);
    const merchant = this.p.settings.get();
    const limit = merchant ? autoPauseRules(merchant).afterExpiredInARow : 0;
    if (!merchant || limit === 0 || n < limit) return;
    if (availabilityAt(merchant, now.getTime()).mode === "PAUSED") return;
    const detail = `${n} orders in a row expired unanswered`;
    this.commitAvailability(
      { mode: "PAUSED", reason: "auto", detail, since: now.toISOString() },
      { principal: SYSTEM_AVAILABILITY, via: "system" },
      now,
    );
  }

  /** Writes the merchant's new availability and its stream event. Inside a transaction. */
  commitAvailability(availability: Availability, call: CallContext, now: Date): void {
    this.settleEnded(now);
    this.writeAvailability(availability, call, now);
  }

  /** Writes the merchant's new sold-out list and its stream event. Inside a transaction. */
  commitSoldOut(items: SoldOutItem[], call: CallContext, now: Date): void {
    this.settleEnded(now);
    this.writeSoldOut(items, call, now);
  }

  /**
   * Announces a timed state or 86 that has ended (as the system) if the alarm has not yet — it
   * may be late, and a change landing first would otherwise replace it unannounced, leaving
   * screens showing a pause that is over. True if it announced anything.
   */
  settleEnded(now: Date): boolean {
    const merchant = this.p.settings.get();
    if (!merchant) return false;
    const nowMs = now.getTime();
    const system: CallContext = { principal: SYSTEM_AVAILABILITY, via: "system" };
    let announced = false;
    const until = merchant.availability?.until;
    if (until !== undefined && Date.parse(until) <= nowMs) {
      this.writeAvailability({ mode: "OPEN", since: now.toISOString() }, system, now);
      announced = true;
    }
    const left = soldOutAt(merchant, nowMs);
    if (left.length !== (merchant.soldOut ?? []).length) {
      this.writeSoldOut(left, system, now);
      announced = true;
    }
    return announced;
  }

  private writeAvailability(availability: Availability, call: CallContext, now: Date): void {
    if (availability.mode === "OPEN" || availability.mode === "BUSY") this.p.settings.setCounter("expiredInARow", 0);
    this.commitMerchant((m) => ({ ...m, availability }), "MERCHANT_AVAILABILITY_CHANGED", { availability }, call, now);
  }

  private writeSoldOut(items: SoldOutItem[], call: CallContext, now: Date): void {
    this.commitMerchant((m) => ({ ...m, soldOut: items }), "SOLD_OUT_CHANGED", { items }, call, now);
  }

  private commitMerchant(
    change: (m: Merchant) => Merchant,
    event: MerchantEventEnvelope["event"],
    payload: { availability: Availability } | { items: SoldOutItem[] },
    call: CallContext,
    now: Date,
  ): void {
    const merchant = change(this.p.settings.get()!);
    this.p.settings.put(merchant);
    const actor = { role: call.principal.role, id: call.principal.id };
    const stored = this.p.log.append(null, null, call.via, now.getTime(), (seq) =>
      merchantChangeFrame(
        event,
        seq,
        { ...payload, actor } as MerchantEventEnvelope["payload"],
        now.toISOString(),
        call.key,
      ),
    );
    this.committed.push(stored.envelope);
    const due = merchantDueTimes(merchant, now.getTime());
    for (const [kind, at] of [
      ["reopen", due.reopen],
      ["unsold", due.unsold],
    ] as const) {
      if (at === null) this.p.schedule.clear(kind, "merchant");
      else this.p.schedule.set(kind, "merchant", at);
    }
  }

  order(orderId: string): Order | null {
    return this.p.orders.get(orderId);
  }

  /** The order a platform placed under `externalId`, with the fingerprint of that placement. */
  byExternalId(externalId: string): { orderId: string; fingerprint: string } | null {
    return this.p.externalIds.get(externalId);
  }

  rememberExternalId(externalId: string, orderId: string, fingerprint: string): void {
    this.p.externalIds.put(externalId, orderId, fingerprint);
  }
}

export type { Principal };
