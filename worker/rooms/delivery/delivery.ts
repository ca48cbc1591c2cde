/**
 * Delivery of the merchant room's stream to its receivers (order rooms, D1, webhooks). The event
 * log is the outbox: a change commits its event and nothing else; each receiver has a cursor (the
 * last seq it took) and progresses on its own, so no receiver's outage or backlog delays another.
 * Receivers are idempotent (by order version, by webhook id), so delivering again after a lost
 * acknowledgement — or after an eviction lost a cursor not yet written — changes nothing.
 *
 * A failing pass backs off; a receiver that parks poison (D1) first halves its window to find
 * the change that fails, and parks a change that fails alone while the one after it goes through.
 */
import { logger } from "../../log.ts";
import type { EventLog, StoredEvent } from "../event-log.ts";
import { applyLayout } from "../storage-schema.ts";
import { type ParkedChange, ParkedChanges } from "./parked.ts";
import { SharedRuns } from "./shared-runs.ts";
import { DELIVERY_TABLES } from "./tables.ts";
import { backoffMs, errorMessage, PartialDelivery, type Receiver, type ReceiverSource } from "./receiver.ts";

export type { ParkedChange };

/**
 * A cursor is written at most this often while it moves, and by the alarm once it stops (a lost
 * one only means redelivery: every receiver is idempotent). Writing it after every change cost a
 * row per receiver per change, and at once a second alarm write to come back for it (issue 15);
 * eviction or a restart now redelivers at most this much of the stream.
 */
export const CURSOR_WRITE_MS = 15_000;
/** Failures of a change delivered alone before it may be parked. */
const PARK_AFTER = 3;

interface CursorState {
  cursor: number;
  written: number;
  writtenAtMs: number;
  attempts: number;
  nextMs: number;
  /** Events per pass while hunting a poison change (null: the receiver's batch). */
  window: number | null;
  lastError: string | null;
  lastErrorMs: number | null;
  lastPassMs: number;
  /** Bumped by reset(): a pass that started before a reset must not move the cursor after it. */
  resets: number;
  /** A receiver that took only part of the log waits until then for the rest (room clock). */
  waitUntilMs: number;
  /** While it waits: the newest seq a pass has looked at (in memory: a loss only costs a read). */
  seenThrough: number;
}

export interface ReceiverStatus {
  pending: number;
  oldestPendingAgeMs: number;
  lastError?: string;
  lastErrorAt?: string;
  /** The receiver is giving up on changes (a webhook endpoint failing for over a day). */
  failingSince?: string;
}

export class Delivery {
  private readonly states = new Map<string, CursorState>();
  private readonly receivers = new Map<string, Receiver>();
  private readonly sources: ReceiverSource[] = [];
  private readonly parkedChanges: ParkedChanges;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly log: EventLog,
    private readonly clock: () => number,
    private readonly say: ReturnType<typeof logger> = logger(() => ({})),
  ) {
    applyLayout(storage, DELIVERY_TABLES);
    this.parkedChanges = new ParkedChanges(storage.sql);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Adds a receiver; a new one starts at `startAfter` (0: the whole stream). */
  add(receiver: Receiver, startAfter = 0): void {
    this.receivers.set(receiver.name, receiver);
    const row = this.sql
      .exec<{
        cursor: number;
        attempts: number;
        next_ms: number;
        last_error: string | null;
        last_error_ms: number | null;
      }>(`SELECT cursor, attempts, next_ms, last_error, last_error_ms FROM receivers WHERE name = ?`, receiver.name)
      .toArray()[0];
    if (!row) this.sql.exec(`INSERT INTO receivers (name, cursor) VALUES (?, ?)`, receiver.name, startAfter);
    const cursor = row?.cursor ?? startAfter;
    this.states.set(receiver.name, {
      cursor,
      written: cursor,
      writtenAtMs: 0,
      attempts: row?.attempts ?? 0,
      nextMs: row?.next_ms ?? 0,
      window: null,
      lastError: row?.last_error ?? null,
      lastErrorMs: row?.last_error_ms ?? null,
      lastPassMs: 0,
      resets: 0,
      waitUntilMs: 0,
      seenThrough: 0,
    });
  }

  has(name: string): boolean {
    return this.receivers.has(name);
  }

  /** Removes a receiver and its cursor (a webhook subscription that was deleted). */
  remove(name: string): void {
    this.receivers.delete(name);
    this.states.delete(name);
    this.sql.exec(`DELETE FROM receivers WHERE name = ?`, name);
  }

  /** Moves a receiver's cursor back or forth (a webhook redelivery); its backoff starts afresh. */
  reset(name: string, cursor: number): boolean {
    const s = this.states.get(name);
    if (!s) return false;
    Object.assign(s, {
      cursor,
      attempts: 0,
      nextMs: 0,
      window: null,
      lastError: null,
      lastErrorMs: null,
      seenThrough: 0,
    });
    s.resets++;
    this.writeCursor(name, s, true);
    return true;
  }

  /** Asked at every flush for receivers that came or went; what it adds is drained at once. */
  addSource(source: ReceiverSource): void {
    this.sources.push(source);
  }

  /** Records a change a receiver gives up on, for operators. */
  park(receiver: string, event: StoredEvent, error: string, nowMs: number): void {
    this.parkedChanges.park(receiver, event, error, nowMs);
    this.say("error", "change parked", { receiver, seq: event.seq, order: event.orderId, error });
  }

  /** Per receiver: its running drain (a flush meanwhile shares it, and it runs once more). */
  private readonly running = new SharedRuns();

  /**
   * Delivers what is due to every receiver. Each drains on its own: a slow or hanging receiver
   * never holds up another. `force` ignores backoff and batching windows (a reader wants the
   * receivers current now). Calls during a drain share it, and it runs once more after.
   */
  flush(force = false): Promise<void> {
    const drains = () =>
      Promise.all([...this.receivers.values()].map((r) => this.running.run(r.name, force, (f) => this.drain(r, f))));
    // A source (the webhook registry) is asked beside the drains, never before them.
    const synced = this.sources.map((s) => s.sync(force).then((added) => (added ? drains() : undefined)));
    return Promise.all([drains(), ...synced]).then(() => {});
  }

  private async drain(r: Receiver, force: boolean): Promise<void> {
    const s = this.states.get(r.name)!;
    let calls = r.side ? await r.side.run(this.clock(), force) : 0;
    while (calls < r.maxCallsPerFlush) {
      const now = this.clock();
      if (!force && s.attempts > 0 && now < s.nextMs) break;
      if (!force && r.minIntervalMs > 0 && now < s.lastPassMs + r.minIntervalMs) break;
      if (!force && r.anyDue && now < s.waitUntilMs && s.seenThrough > s.cursor) {
        // Waiting: look only at what came since the last pass; read the rest again only if due.
        const fresh = this.log.range(s.seenThrough, r.batch);
        if (fresh.length > 0) s.seenThrough = fresh[fresh.length - 1]!.seq;
        if (!r.anyDue(fresh, now)) break;
      }
      const events = this.log.range(s.cursor, s.window ?? r.batch);
      if (events.length === 0) break;
      s.lastPassMs = now;
      const resets = s.resets;
      try {
        const done = await r.deliver(events, now, force);
        calls += done.calls;
        if (s.resets !== resets) continue;
        const last = events[events.length - 1]!.seq;
        const through = done.through ?? last;
        if (through > s.cursor) this.advance(s, through, r.batch);
        s.waitUntilMs = through < last ? (done.againAtMs ?? now) : 0;
        s.seenThrough = through < last ? Math.max(s.seenThrough, last) : 0;
        if (through < last) break; // the rest waits (it was looked at and is not due)
      } catch (err) {
        calls++;
        if (s.resets !== resets) continue;
        if (!(err instanceof PartialDelivery)) {
          if (!(await this.fail(r, s, events, err, now))) break;
          continue;
        }
        if (err.through !== null) this.advance(s, err.through, r.batch);
        const rest = events.filter((e) => e.seq > s.cursor);
        if (!(await this.fail(r, s, rest, err.reason, now))) break;
      }
    }
    this.writeCursor(r.name, s, false);
  }

  private advance(s: CursorState, seq: number, batch: number): void {
    s.cursor = seq;
    s.attempts = 0;
    if (s.window !== null) s.window = s.window * 2 >= batch ? null : s.window * 2;
  }

  /** Handles a failed pass; true if the drain may go on at once (hunting a poison change). */
  private async fail(r: Receiver, s: CursorState, events: StoredEvent[], err: unknown, now: number) {
    s.lastError = errorMessage(err);
    s.lastErrorMs = now;
    if (r.parksPoison && events.length > 1) {
      // Halve the window and try again at once: a poison change is found in log2(batch) passes.
      s.window = Math.ceil(events.length / 2);
      return true;
    }
    s.attempts++;
    if (r.parksPoison && s.attempts >= PARK_AFTER && (await this.parkIfPoison(r, s, events[0]!, now))) return true;
    s.nextMs = now + backoffMs(s.attempts, r.backoffCapMs);
    this.say("warn", "delivery failed", {
      receiver: r.name,
      seq: events[0]?.seq,
      attempts: s.attempts,
      retryInMs: s.nextMs - now,
      error: s.lastError,
    });
    this.writeCursor(r.name, s, true);
    return false;
  }

  /**
   * `event` failed alone again. If the change after it goes through, the receiver is up and this
   * one can never be taken: park it (with its error, for operators) and move on. If that fails
   * too, the receiver is down: the caller backs off.
   */
  private async parkIfPoison(r: Receiver, s: CursorState, event: StoredEvent, now: number): Promise<boolean> {
    const [probe] = this.log.range(event.seq, 1);
    if (!probe) return false;
    try {
      if ((await r.deliver([probe], now, true)).calls === 0) return false; // proved nothing
    } catch {
      return false;
    }
    this.park(r.name, event, s.lastError ?? "unknown", now);
    this.advance(s, probe.seq, r.batch);
    this.writeCursor(r.name, s, true);
    return true;
  }

  /** Writes the cursor if it moved and was last written a while ago (or `now` asks for it). */
  private writeCursor(name: string, s: CursorState, now: boolean): void {
    const t = this.clock();
    if (!now && (s.cursor === s.written || t - s.writtenAtMs < CURSOR_WRITE_MS)) return;
    this.sql.exec(
      `UPDATE receivers SET cursor = ?, attempts = ?, next_ms = ?, last_error = ?, last_error_ms = ? WHERE name = ?`,
      s.cursor,
      s.attempts,
      s.nextMs,
      s.lastError,
      s.lastErrorMs,
      name,
    );
    s.written = s.cursor;
    s.writtenAtMs = t;
  }

  /** Changes (and side items) not yet delivered, over all receivers. */
  pending(): number {
    let n = 0;
    for (const [name, r] of this.receivers) {
      n += this.log.seq - this.states.get(name)!.cursor + (r.side?.pending() ?? 0);
    }
    return n;
  }

  /** When a flush next has something to do (room clock), or null. */
  nextDueMs(): number | null {
    const times: number[] = [];
    for (const [name, r] of this.receivers) {
      const s = this.states.get(name)!;
      const side = r.side?.dueMs();
      if (side !== null && side !== undefined) times.push(side);
      if (s.cursor < this.log.seq) {
        times.push(Math.max(s.attempts > 0 ? s.nextMs : 0, s.lastPassMs + r.minIntervalMs, s.waitUntilMs));
      } else if (s.cursor !== s.written) times.push(s.writtenAtMs + CURSOR_WRITE_MS);
    }
    return times.length ? Math.min(...times) : null;
  }

  /** The oldest seq some receiver still needs: the log keeps it and everything after. */
  keepFrom(): number {
    let from = this.log.seq + 1;
    for (const [name, r] of this.receivers) {
      const s = this.states.get(name)!;
      from = Math.min(from, Math.min(s.cursor, s.written) + 1, r.side?.oldestSeq() ?? from);
    }
    return from;
  }

  /** Per receiver: how much waits, for how long, and the last error (operators' view). */
  status(nowMs: number): Record<string, ReceiverStatus> {
    const out: Record<string, ReceiverStatus> = {};
    for (const [name, r] of this.receivers) {
      const s = this.states.get(name)!;
      const [oldest] = this.log.range(s.cursor, 1);
      const side = r.side?.status(nowMs) ?? null;
      const ages = [oldest ? nowMs - oldest.atMs : 0, side?.oldestAgeMs ?? 0];
      const lastError = side?.lastError ?? s.lastError;
      const failing = r.failingSince?.() ?? null;
      out[name] = {
        pending: this.log.seq - s.cursor + (r.side?.pending() ?? 0),
        oldestPendingAgeMs: Math.max(0, ...ages),
        ...(lastError ? { lastError } : {}),
        ...(s.lastErrorMs !== null ? { lastErrorAt: new Date(s.lastErrorMs).toISOString() } : {}),
        ...(failing !== null ? { failingSince: new Date(failing).toISOString() } : {}),
      };
    }
    return out;
  }

  /** How long the oldest change past a receiver's cursor has waited (0 if none). */
  cursorAgeMs(name: string, nowMs: number): number {
    const s = this.states.get(name);
    const [oldest] = s ? this.log.range(s.cursor, 1) : [];
    return oldest ? Math.max(0, nowMs - oldest.atMs) : 0;
  }

  /** Changes a receiver could never take, newest first. */
  parked(limit = 100): ParkedChange[] {
    return this.parkedChanges.list(limit);
  }

  prune(nowMs: number): void {
    this.parkedChanges.prune(nowMs);
  }
}
