/**
 * Shared by replay-property.test.ts and chaos.test.ts: a client that watches one room's stream
 * across any number of connections (resuming with `since`), checking as frames arrive that the
 * stream is gap-free and exactly-once, and keeping the view a kitchen screen or a tracking page
 * would build from it; and readers of what the rooms themselves hold, to compare against.
 */
import { runInDurableObject } from "cloudflare:test";
import { isActiveStatus, type Order } from "../../schema/index.ts";
import { merchantStub, open, orderStub, type TestSocket } from "./helpers.ts";

type Envelope = { event: string; seq?: number; requestId?: string; payload: Record<string, unknown> };

/**
 * One screen (merchant room) or tracking page (order room) over its whole life. Every stream
 * event must carry exactly the next seq after the last one seen; only a SNAPSHOT may move the
 * position, and never backwards. Violations are collected, not thrown, so a run reports them all.
 */
export class StreamWatcher {
  socket: TestSocket | null = null;
  /** Highest position reached: the last stream seq received, or a snapshot's seq. */
  lastSeq: number | null = null;
  epoch: string | null = null;
  /** Every stream event received, by seq. */
  readonly received = new Map<number, Envelope>();
  /** Seqs a snapshot stood in for (a fresh connect without `since`), so not received as events. */
  readonly skipped = new Set<number>();
  readonly violations: string[] = [];
  /** Merchant room: the active board as the screen shows it. Order room: the order. */
  readonly board = new Map<string, Order>();
  order: Order | null = null;
  /** Where this watcher's stream began: the seq of its very first SNAPSHOT. */
  firstSeq: number | null = null;
  connects = 0;
  drops = 0;
  replayed = 0;
  private consumed = 0;

  constructor(
    readonly kind: "merchant" | "order",
    readonly path: string,
    readonly token: string,
    readonly name: string,
  ) {}

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs connect/drop/noticeClosed one at a time: concurrent callers must not open two sockets. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get connected(): boolean {
    return this.socket !== null && this.socket.closed === null;
  }

  /** Connects; with `resume` (and a known position) it asks for everything after it. */
  connect(resume = true): Promise<void> {
    return this.exclusive(() => this.connectNow(resume));
  }

  private async connectNow(resume: boolean): Promise<void> {
    if (this.socket) await this.dropNow();
    const query: Record<string, string> = {};
    if (resume && this.lastSeq !== null && this.epoch !== null) {
      query.since = String(this.lastSeq);
      query.epoch = this.epoch;
    }
    this.socket = await open(this.path, { token: this.token, query });
    this.consumed = 0;
    this.connects++;
    this.drain();
  }

  /** Closes from the client side and waits for the close to complete (no frame can follow). */
  drop(): Promise<void> {
    return this.exclusive(() => this.dropNow());
  }

  private async dropNow(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (socket.closed === null) {
      socket.close(1000);
      await socket.waitClosed(10_000).catch(() => undefined);
    }
    this.drain();
    this.socket = null;
    this.drops++;
  }

  /** The server closed the socket (eviction, restart): account for it like a drop. */
  noticeClosed(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.socket || this.socket.closed === null) return false;
      this.drain();
      this.socket = null;
      this.drops++;
      return true;
    });
  }

  /** Reconnects with `since` if the socket is gone (closed by either side); true if it did. */
  resumeIfClosed(): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.socket && this.socket.closed === null) return false;
      if (this.socket) {
        this.drain();
        this.socket = null;
        this.drops++;
      }
      await this.connectNow(true);
      return true;
    });
  }

  /** Processes every envelope received since the last call. */
  drain(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.consumed < socket.envelopes.length) {
      const env = socket.envelopes[this.consumed++] as Envelope | "pong";
      if (env !== "pong") this.take(env);
    }
  }

  private take(env: Envelope): void {
    const where = `${this.name} connection ${this.connects}`;
    switch (env.event) {
      case "SNAPSHOT": {
        const seq = env.seq!;
        if (this.lastSeq !== null && seq < this.lastSeq && env.payload.epoch === this.epoch) {
          this.violations.push(`${where}: SNAPSHOT at ${seq} behind ${this.lastSeq}`);
        }
        if (this.lastSeq !== null) for (let s = this.lastSeq + 1; s <= seq; s++) this.skipped.add(s);
        this.firstSeq ??= seq;
        this.lastSeq = seq;
        this.epoch = env.payload.epoch as string;
        if (this.kind === "merchant") {
          this.board.clear();
          for (const o of env.payload.orders as Order[]) this.board.set(o.id, o);
        } else {
          this.order = env.payload.order as Order | null;
        }
        return;
      }
      case "REPLAY_DONE":
        if (env.seq !== this.lastSeq)
          this.violations.push(`${where}: REPLAY_DONE at ${env.seq} but the replay reached ${this.lastSeq}`);
        this.replayed += env.payload.replayed as number;
        return;
      case "ACK":
      case "BULK_RESULT":
      case "ERROR":
      case "DELIVERY_STATUS":
        if (env.seq !== undefined) this.violations.push(`${where}: reply ${env.event} carries seq ${env.seq}`);
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
    // A merchant-level event (availability, sold-out) advances seq and changes no order.
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

  /** Waits until the stream has reached `seq` (draining as frames come in). */
  async reach(seq: number, timeoutMs = 10_000): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new Error(`${this.name} is not connected`);
    await socket.until(
      () => {
        this.drain();
        return (this.lastSeq ?? -1) >= seq;
      },
      timeoutMs,
      `${this.name} to reach seq ${seq} (at ${this.lastSeq})`,
    );
  }

  /**
   * Compares everything received with the room's own log: each seq after the first snapshot was
   * received exactly once (or stood in for by a later snapshot), as the very envelope the room
   * stored. Returns the problems found (with the violations seen on the way).
   */
  check(
    log: Map<number, string>,
    roomSeq: number,
  ): { problems: string[]; lost: number; duplicated: number; diverged: number } {
    const problems = [...this.violations];
    let lost = 0;
    let diverged = 0;
    const duplicated = this.violations.filter((v) => v.includes("twice")).length;
    if (this.lastSeq !== roomSeq) problems.push(`${this.name}: at seq ${this.lastSeq}, the room is at ${roomSeq}`);
    for (let seq = (this.firstSeq ?? 0) + 1; seq <= roomSeq; seq++) {
      const got = this.received.get(seq);
      if (!got) {
        if (!this.skipped.has(seq)) {
          lost++;
          problems.push(`${this.name}: never received seq ${seq}`);
        }
        continue;
      }
      const stored = log.get(seq);
      if (stored === undefined || canonical(got) !== canonical(JSON.parse(stored))) {
        diverged++;
        problems.push(`${this.name}: seq ${seq} differs from the room's log`);
      }
    }
    return { problems, lost, duplicated, diverged };
  }
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** The merchant room's stream as stored: seq → envelope text. */
export async function merchantLog(merchantId: string): Promise<Map<number, string>> {
  const rows = await runInDurableObject(merchantStub(merchantId), (_, state) =>
    state.storage.sql
      .exec<{ seq: number; envelope: string }>(`SELECT seq, envelope FROM events ORDER BY seq`)
      .toArray(),
  );
  return new Map(rows.map((r) => [r.seq, r.envelope]));
}

/** An order room's stream as stored: seq → envelope text. */
export async function orderLog(orderId: string): Promise<Map<number, string>> {
  const rows = await runInDurableObject(orderStub(orderId), (_, state) =>
    state.storage.sql
      .exec<{ seq: number; envelope: string }>(`SELECT seq, envelope FROM events ORDER BY seq`)
      .toArray(),
  );
  return new Map(rows.map((r) => [r.seq, r.envelope]));
}

/** Every order the merchant room holds (board and history), by id. */
export async function merchantOrders(merchantId: string): Promise<Map<string, Order>> {
  const rows = await runInDurableObject(merchantStub(merchantId), (_, state) =>
    state.storage.sql.exec<{ json: string }>(`SELECT json FROM orders`).toArray(),
  );
  return new Map(rows.map((r) => [(JSON.parse(r.json) as Order).id, JSON.parse(r.json) as Order]));
}

/** Compares two boards (id → order) and names the differences. */
export function boardDiff(name: string, seen: Map<string, Order>, truth: Order[]): string[] {
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
