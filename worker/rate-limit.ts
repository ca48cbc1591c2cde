/**
 * A fixed-window counter per key, in memory. Rate limits protect a room from a runaway client;
 * losing the counts when a room hibernates only ever lets a little more through, never less.
 */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** Parses `"limit/seconds"` (wrangler vars); falls back to the contract's default. */
export function parseRateLimit(value: string | undefined, fallback: RateLimit): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(value ?? "");
  if (!match) return fallback;
  const limit = Number(match[1]);
  const windowMs = Number(match[2]) * 1000;
  return limit > 0 && windowMs > 0 ? { limit, windowMs } : fallback;
}

export const DEFAULT_REST_LIMIT: RateLimit = { limit: 100, windowMs: 10_000 };
export const DEFAULT_SOCKET_LIMIT: RateLimit = { limit: 200, windowMs: 10_000 };

export class RateCounter<K> {
  private windows = new Map<K, { start: number; count: number }>();
  constructor(private readonly rule: RateLimit) {}

  /** Counts one hit for `key` and returns how many it has had in the current window. */
  hit(key: K, now: number): number {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.rule.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.sweep(now);
    }
    return ++w.count;
  }

  get limit(): number {
    return this.rule.limit;
  }

  forget(key: K): void {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.rule.windowMs) this.windows.delete(k);
  }
}
