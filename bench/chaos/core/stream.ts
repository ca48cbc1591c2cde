/**
 * What a client sees of one room's stream, across any number of connections: every stream event
 * must carry exactly the next seq after the last one seen; only a SNAPSHOT may move the position,
 * never backwards. Violations are collected, not thrown, so a run reports them all. The view a
 * kitchen screen (the active board) or a tracking page (the order) builds from it comes along.
 */
import { isActiveStatus, type Order } from "../../../schema/order.ts";
import { type CheckName, type Checks, canonical } from "./checks.ts";

export type StreamKind = "merchant" | "order";

/** A server envelope, as far as the checks read it. */
export interface StreamEnvelope {
  event: string;
  seq?: number;
  requestId?: string;
  payload: Record<string, unknown>;
}

export class StreamView {
  readonly kind: StreamKind;
  readonly name: string;
  /** Highest position reached: the last stream seq received, or a snapshot's seq. */
  lastSeq: number | null = null;
  /** Where this view's stream began: the seq of its very first SNAPSHOT. */
  firstSeq: number | null = null;
  epoch: string | null = null;
  /** Every stream event received, by seq. */
  readonly received = new Map<number, StreamEnvelope>();
  /** Seqs a snapshot stood in for (a fresh connect without `since`), so not received as events. */
  readonly skipped = new Set<number>();
  readonly violations: string[] = [];
  /** Merchant room: the active board as the screen shows it. Order room: the order. */
  readonly board = new Map<string, Order>();
  order: Order | null = null;
  connects = 0;
  replayed = 0;
  /** How many envelopes of the current connection have been taken. */
  protected consumed = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(kind: StreamKind, name: string) {
    this.kind = kind;
    this.name = name;
  }

  /** Runs connect/drop/resume one at a time: concurrent callers must not open two sockets. */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A new connection: its envelopes are counted from its first. */
  protected beginConnection(): void {
    this.consumed = 0;
    this.connects++;
  }

  /** Takes every envelope of the current connection not taken yet (a "pong" is not one). */
  takeFrom(envelopes: readonly unknown[]): void {
    while (this.consumed < envelopes.length) {
      const env = envelopes[this.consumed++];
      if (env !== "pong") this.take(env as StreamEnvelope);
    }
  }

  take(env: StreamEnvelope): void {
    const where = `${this.name} connection ${this.connects}`;
    switch (env.event) {
      case "SNAPSHOT": {
        const seq = env.seq ?? 0;
        if (this.lastSeq !== null && seq < this.lastSeq && env.payload.epoch === this.epoch)
          this.violations.push(`${where}: SNAPSHOT at ${seq} behind ${this.lastSeq}`);
        if (this.lastSeq !== null && env.payload.epoch !== this.epoch)
          this.violations.push(`${where}: the epoch changed`);
        if (this.lastSeq !== null) for (let s = this.lastSeq + 1; s <= seq; s++) this.skipped.add(s);
        this.firstSeq ??= seq;
        this.lastSeq = seq;
        this.epoch = env.payload.epoch as string;
        if (this.kind === "merchant") {
          this.board.clear();
          for (const o of env.payload.orders as Order[]) this.board.set(o.id, o);
        } else this.order = env.payload.order as Order | null;
        return;
      }
      case "REPLAY_DONE":
        if (env.seq !== this.lastSeq)
          this.violations.push(`${where}: REPLAY_DONE at ${env.seq}, the replay reached ${this.lastSeq}`);
        this.replayed += env.payload.replayed as number;
        return;
      case "ACK":
      case "BULK_RESULT":
      case "ERROR":
      case "DELIVERY_STATUS": // whether customers' views are current: not a stream event either
        if (env.seq !== undefined) this.violations.push(`${where}: ${env.event} carries seq ${env.seq}`);
        return;
      case "UNPARSEABLE":
        this.violations.push(`${where}: unparseable frame ${env.payload.text}`);
        return;
    }
    const seq = env.seq;
    if (typeof seq !== "number") {
      this.violations.push(`${where}: stream event ${env.event} without seq`);
      return;
    }
    if (this.lastSeq === null) this.violations.push(`${where}: ${env.event} ${seq} before any SNAPSHOT`);
    else if (this.received.has(seq)) this.violations.push(`${where}: seq ${seq} received twice`);
    else if (seq !== this.lastSeq + 1)
      this.violations.push(`${where}: seq ${seq} after ${this.lastSeq} (gap or reorder)`);
    this.received.set(seq, env);
    this.lastSeq = Math.max(seq, this.lastSeq ?? 0);
    // A merchant-level event (availability, sold-out: contract v2) advances seq, changes no order.
    const order = env.payload.order as Order | undefined;
    if (!order) return;
    if (this.kind === "merchant") {
      const had = this.board.get(order.id);
      if (had && had.version >= order.version)
        this.violations.push(`${where}: ${order.id} v${order.version} after v${had.version}`);
      if (isActiveStatus(order.status)) this.board.set(order.id, order);
      else this.board.delete(order.id);
    } else {
      if (this.order && order.version !== this.order.version + 1)
        this.violations.push(`${where}: v${order.version} after v${this.order.version}`);
      this.order = order;
    }
  }
}

/** What a view saw go wrong on the way (a seq received twice counts as duplicated). */
export function checkViolations(checks: Checks, name: CheckName, view: StreamView): void {
  for (const v of view.violations) {
    if (v.includes("twice")) checks.tally.duplicated++;
    checks.fail(name, v);
  }
}

/**
 * A view's whole stream against the room: it reached the room's seq; every seq after its first
 * snapshot was received exactly once (or stood in for by a later snapshot), and each is what
 * the room holds (`matches`: its log, its audit trail).
 */
export function checkStream(
  checks: Checks,
  view: StreamView,
  roomSeq: number,
  matches: (seq: number, env: StreamEnvelope) => boolean,
  names: { stream: CheckName; diverged: CheckName } = { stream: "streams", diverged: "screensAgree" },
): void {
  checkViolations(checks, names.stream, view);
  if (view.lastSeq !== roomSeq)
    checks.fail(names.stream, `${view.name}: at seq ${view.lastSeq}, the room at ${roomSeq}`);
  for (let seq = (view.firstSeq ?? 0) + 1; seq <= roomSeq; seq++) {
    const got = view.received.get(seq);
    if (!got) {
      if (!view.skipped.has(seq)) {
        checks.tally.lost++;
        checks.fail(names.stream, `${view.name}: never received seq ${seq}`);
      }
    } else if (!matches(seq, got)) {
      checks.tally.diverged++;
      checks.fail(names.diverged, `${view.name}: seq ${seq} differs from the room's`);
    }
  }
}

/** Screens of one merchant saw the same envelope wherever both saw a seq. */
export function checkScreensAgree(checks: Checks, merchantId: string, screens: readonly StreamView[]): void {
  const [a, ...others] = screens;
  for (const b of others)
    for (const [seq, env] of a?.received ?? [])
      if (b.received.has(seq) && canonical(b.received.get(seq)) !== canonical(env))
        checks.fail("screensAgree", `${merchantId} seq ${seq}: ${a?.name} and ${b.name} disagree`);
}

/** Compares a board as seen (id → order) with the room's and names the differences. */
export function boardDiff(name: string, seen: Map<string, Order>, truth: readonly Order[]): string[] {
  const problems: string[] = [];
  const want = new Map(truth.map((o) => [o.id, o]));
  for (const [id, o] of want) {
    const got = seen.get(id);
    if (!got) problems.push(`${name}: board lacks ${id} (v${o.version} ${o.status})`);
    else if (canonical(got) !== canonical(o))
      problems.push(`${name}: ${id} shows v${got.version} ${got.status}, room has v${o.version} ${o.status}`);
  }
  for (const [id, o] of seen)
    if (!want.has(id)) problems.push(`${name}: board shows ${id} (v${o.version} ${o.status}) the room does not`);
  return problems;
}

/** One order as some client or store holds it against the merchant room's. */
export function checkOrder(checks: Checks, name: CheckName, what: string, got: unknown, want: Order | undefined): void {
  if (canonical(got) === canonical(want)) return;
  checks.tally.diverged++;
  const version = (o: unknown) => (o as { version?: number } | null | undefined)?.version;
  checks.fail(name, `${what} at v${version(got)}, the merchant room at v${want?.version}`);
}
