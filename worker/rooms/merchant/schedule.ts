/**
 * One alarm, many deadlines. Everything the merchant room must do at a time (an order's
 * acceptance deadline, later a scheduled order's fire time or the end of a pause) is a row keyed
 * `<kind>:<id>`; delivery retries and housekeeping add their own times; the Durable Object's one
 * alarm points at the earliest.
 *
 * All times are the room's clock (tests move it to reach a deadline without sleeping). Only the
 * platform alarm is set in wall time: the one place the two meet is `toWall`.
 */
/**
 * `expire:<order>` acceptance deadline · `fire:<order>` a scheduled order's start ·
 * `reopen:merchant` end of a timed pause or busy spell · `unsold:merchant` an 86 ends ·
 * `no-screen:merchant` auto-pause when no kitchen screen came back.
 */
export type ScheduleKind = "expire" | "fire" | "reopen" | "unsold" | "no-screen";

export interface DueEntry {
  kind: ScheduleKind;
  id: string;
  dueMs: number;
}

export class Schedule {
  /** Wall time of the alarm as last set by this instance (null: none, or not known). */
  private alarmAt: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: () => number,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Inside a change's transaction: do `kind` for `id` at `dueMs`. */
  set(kind: ScheduleKind, id: string, dueMs: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO schedule (key, due_ms) VALUES (?, ?)`, `${kind}:${id}`, dueMs);
  }

  clear(kind: ScheduleKind, id: string): void {
    this.sql.exec(`DELETE FROM schedule WHERE key = ?`, `${kind}:${id}`);
  }

  /** Entries due at `nowMs`, earliest first. */
  due(nowMs: number): DueEntry[] {
    return this.sql
      .exec<{ key: string; due_ms: number }>(
        `SELECT key, due_ms FROM schedule WHERE due_ms <= ? ORDER BY due_ms`,
        nowMs,
      )
      .toArray()
      .map((r) => {
        const colon = r.key.indexOf(":");
        return { kind: r.key.slice(0, colon) as ScheduleKind, id: r.key.slice(colon + 1), dueMs: r.due_ms };
      });
  }

  earliest(): number | null {
    return this.sql.exec<{ due: number | null }>(`SELECT MIN(due_ms) AS due FROM schedule`).one().due;
  }

  /**
   * Wall time for a room-clock time, never before now: receivers report work that is due at once
   * as room time 0, and setAlarm() throws for a time <= 0 (it took the last kitchen screen's
   * no-screen pause down with it when a settings change was still being projected).
   */
  private toWall(roomMs: number): number {
    return Math.max(Date.now(), roomMs - (this.clock() - Date.now()));
  }

  /** Forget what this instance believes about the alarm (it has just fired). */
  fired(): void {
    this.alarmAt = null;
  }

  /**
   * Makes sure the alarm fires no later than `roomMs`, without waiting for it to be durable:
   * the output gate holds the reply until it is, and a commit path stays synchronous. Used as a
   * backstop after a commit, in case this instance is evicted before its background delivery ends.
   */
  ensureBy(roomMs: number): void {
    const at = this.toWall(roomMs);
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.storage.setAlarm(at);
  }

  /**
   * Points the alarm at the earliest of `candidates` (room clock). An earlier alarm still ahead
   * stays: it fires, finds little to do and points the alarm at what is next — moving it later
   * after every flush cost a second alarm write per change in a rush.
   */
  async pointAt(candidates: Array<number | null>): Promise<void> {
    const times = candidates.filter((t): t is number => t !== null);
    // A time already past is due now: with the room's clock moved ahead (tests), a room time can
    // map to a wall time at or before 0, which setAlarm refuses.
    const next = times.length ? Math.max(Date.now(), this.toWall(Math.min(...times))) : null;
    if (next === this.alarmAt) return;
    if (this.alarmAt !== null && this.alarmAt > Date.now() && (next === null || this.alarmAt < next)) return;
    this.alarmAt = next;
    if (next === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(next);
  }
}
