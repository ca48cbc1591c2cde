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
import { type EventLog, RETAIN_MS, type StoredEvent } from "../event-log.ts";
import { logger } from "../../log.ts";
import { applyLayout } from "../storage-schema.ts";
import { DELIVERY_TABLES } from "./tables.ts";
import { backoffMs, errorMessage, type Receiver } from "./receiver.ts";

/** A cursor is written at most this often while it moves (a lost one only means redelivery). */
const CURSOR_WRITE_MS = 1_000;
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
  /** A receiver that took only part of the log waits until then for the rest (room clock). */
  waitUntilMs: number;
}

export interface ReceiverStatus {
  pending: number;
  oldestPendingAgeMs: number;
  lastError?: string;
  lastErrorAt?: string;
}

export interface ParkedChange {
  receiver: string;
  seq: number;
  orderId?: string;
  error: string;
  at: string;
}

export class Delivery {
  private readonly states = new Map<string, CursorState>();
  private readonly receivers = new Map<string, Receiver>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly log: EventLog,
    private readonly clock: () => number,
    private readonly say: ReturnType<typeof logger> = logger(() => ({})),
  ) {
    applyLayout(storage, DELIVERY_TABLES);
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
      waitUntilMs: 0,
    });
  }

  /** Per receiver: its running drain, and whether another was asked for meanwhile (and forced). */
  private readonly running = new Map<string, { done: Promise<void>; again: boolean; force: boolean }>();

  /**
   * Delivers what is due to every receiver. Each drains on its own: a slow or hanging receiver
   * never holds up another. `force` ignores backoff and batching windows (a reader wants the
   * receivers current now). Calls during a drain share it, and it runs once more after.
   */
  flush(force = false): Promise<void> {
    return Promise.all([...this.receivers.values()].map((r) => this.drainShared(r, force))).then(() => {});
  }

  private drainShared(r: Receiver, force: boolean): Promise<void> {
    const current = this.running.get(r.name);
    if (current) {
      current.again = true;
      current.force ||= force;
      return current.done;
    }
    const run = { done: Promise.resolve(), again: false, force };
    run.done = (async () => {
      try {
        do {
          run.again = false;
          const f = run.force;
          run.force = false;
          await this.drain(r, f);
        } while (run.again);
      } finally {
        this.running.delete(r.name);
      }
    })();
    this.running.set(r.name, run);
    return run.done;
  }

  private async drain(r: Receiver, force: boolean): Promise<void> {
    const s = this.states.get(r.name)!;
    let calls = r.side ? await r.side.run(this.clock(), force) : 0;
    while (calls < r.maxCallsPerFlush) {
      const now = this.clock();
      if (!force && s.attempts > 0 && now < s.nextMs) break;
      if (!force && r.minIntervalMs > 0 && now < s.lastPassMs + r.minIntervalMs) break;
      const events = this.log.range(s.cursor, s.window ?? r.batch);
      if (events.length === 0) break;
      s.lastPassMs = now;
      try {
        const done = await r.deliver(events, now, force);
        calls += done.calls;
        const last = events[events.length - 1]!.seq;
        const through = done.through ?? last;
        if (through > s.cursor) this.advance(s, through, r.batch);
        s.waitUntilMs = through < last ? (done.againAtMs ?? now) : 0;
        if (through < last) break; // the rest waits (it was looked at and is not due)
      } catch (err) {
        calls++;
        if (!(await this.fail(r, s, events, err, now))) break;
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
    s.nextMs = now + backoffMs(s.attempts);
    this.say("warn", "delivery failed", {
      receiver: r.name,
      seq: events[0]!.seq,
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
    this.sql.exec(
      `INSERT OR REPLACE INTO parked (receiver, seq, order_id, error, at_ms) VALUES (?, ?, ?, ?, ?)`,
      r.name,
      event.seq,
      event.orderId,
      s.lastError ?? "unknown",
      now,
    );
    this.say("error", "change parked", { receiver: r.name, seq: event.seq, order: event.orderId, error: s.lastError });
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
      out[name] = {
        pending: this.log.seq - s.cursor + (r.side?.pending() ?? 0),
        oldestPendingAgeMs: Math.max(0, ...ages),
        ...(lastError ? { lastError } : {}),
        ...(s.lastErrorMs !== null ? { lastErrorAt: new Date(s.lastErrorMs).toISOString() } : {}),
      };
    }
    return out;
  }

  /** Changes a receiver could never take, newest first. */
  parked(limit = 100): ParkedChange[] {
    return this.sql
      .exec<{ receiver: string; seq: number; order_id: string | null; error: string; at_ms: number }>(
        `SELECT receiver, seq, order_id, error, at_ms FROM parked ORDER BY at_ms DESC, seq DESC LIMIT ?`,
        limit,
      )
      .toArray()
      .map((p) => ({
        receiver: p.receiver,
        seq: p.seq,
        ...(p.order_id !== null ? { orderId: p.order_id } : {}),
        error: p.error,
        at: new Date(p.at_ms).toISOString(),
      }));
  }

  /** Parked records are kept a week (operators look at them; the events themselves may be gone). */
  prune(nowMs: number): void {
    this.sql.exec(`DELETE FROM parked WHERE at_ms < ?`, nowMs - 7 * RETAIN_MS);
  }
}
