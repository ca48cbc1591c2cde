/**
 * The resume rule both screens follow (CONTRACT.md "Snapshot, sequence, resume"): a room numbers
 * its stream events 1, 2, 3, … without gaps; a client keeps the last seq it applied and applies
 * each event exactly once.
 */

/** What to do with a stream event numbered `seq` when `applied` is the last one applied. */
export type SeqVerdict = "apply" | "duplicate" | "gap";

export function judgeSeq(applied: number, seq: number): SeqVerdict {
  if (seq <= applied) return "duplicate";
  return seq === applied + 1 ? "apply" : "gap";
}

/** Where to resume from: sent as `?since=&epoch=` on every (re)connect once a snapshot was seen. */
export interface StreamCursor {
  epoch: string;
  since: number;
}

/** Counters a test (or a curious engineer) can read on `window.__ticketRail`. */
export interface StreamStats {
  /** Stream events applied since the page loaded. */
  applied: number;
  /** Stream events received again (replays overlapping what was applied) and ignored. */
  duplicates: number;
  /** Gaps seen (each forces a resume from the last applied seq). */
  gaps: number;
  snapshots: number;
  replays: number;
}

export const emptyStats = (): StreamStats => ({ applied: 0, duplicates: 0, gaps: 0, snapshots: 0, replays: 0 });

/** More gaps than this within GAP_WINDOW_MS: stop resuming and take a fresh snapshot. */
const MAX_GAPS = 3;
const GAP_WINDOW_MS = 10_000;

/**
 * After a gap a screen resumes from its last applied seq; if that keeps failing (a replay that
 * never lines up) it drops its cursor and takes a fresh SNAPSHOT instead of looping.
 */
export class GapCounter {
  private recent: number[] = [];

  record(now: number): "resume" | "snapshot" {
    this.recent = [...this.recent.filter((t) => now - t < GAP_WINDOW_MS), now];
    if (this.recent.length <= MAX_GAPS) return "resume";
    this.recent = [];
    return "snapshot";
  }
}

/**
 * A stream event whose name this client does not know (CONTRACT.md, Additions v2: clients ignore
 * events they do not know, still advancing their seq). null for anything else — a known event,
 * or not a stream event at all — so a malformed known event is never skipped silently.
 */
export function unknownStreamEvent(raw: unknown, known: ReadonlySet<string>): { event: string; seq: number } | null {
  if (typeof raw !== "object" || raw === null) return null;
  const { event, seq } = raw as Record<string, unknown>;
  if (typeof event !== "string" || known.has(event)) return null;
  if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 1) return null;
  return { event, seq };
}

/** A screen's stream state, as far as the resume rule needs it. */
export interface StreamPosition {
  cursor: StreamCursor | null;
  stats: StreamStats;
}

/**
 * REPLAY_DONE: after a replay the client must be exactly at the room's seq, in the room's epoch;
 * anything else is a gap (counted, and the caller resumes again).
 */
export function replayDone<S extends StreamPosition>(
  state: S,
  done: { seq: number; epoch: string },
): { state: S; gap: { kind: "gap"; expected: number; got: number } | null } {
  const stats = { ...state.stats, replays: state.stats.replays + 1 };
  if (!state.cursor || state.cursor.epoch !== done.epoch || state.cursor.since !== done.seq) {
    return {
      state: { ...state, stats: { ...stats, gaps: stats.gaps + 1 } },
      gap: { kind: "gap", expected: done.seq, got: state.cursor?.since ?? 0 },
    };
  }
  return { state: { ...state, stats }, gap: null };
}
