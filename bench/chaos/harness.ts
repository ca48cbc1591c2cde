/**
 * The state of one chaos run against `wrangler dev` — configuration, seeded randomness, the
 * merchants and their clients, the ledger, counts and checks — and its HTTP client, which
 * notes every answer that is not JSON and retries until it gets a definitive one when asked.
 */
import type { Order } from "../../schema/order.ts";
import { sleep } from "../lib/common.ts";
import type { DevServer } from "../lib/processes.ts";
import { Checks, type LedgerEntry, type Rng, seededRandom, trafficCounts } from "./core/index.ts";
import type { Watcher } from "./stream.ts";

export interface Config {
  seed: number;
  merchants: number;
  screensPerMerchant: number;
  maxTrackers: number;
  orders: number;
  restarts: number;
  faults: number;
  deadlines: number;
  workers: number;
  uptimeMs: [number, number];
  faultEveryMs: [number, number];
  acceptWindowSeconds: number;
  maxMinutes: number;
  keep: boolean;
}

export interface Merchant {
  id: string;
  screens: Watcher[];
  trackers: Watcher[];
  orders: string[];
  /** Orders left unaccepted on purpose: their deadline must expire them. */
  doomed: Set<string>;
  /** The newest version of each order seen in any answer. */
  known: Map<string, Order>;
}

const newCounts = () => ({
  ...trafficCounts(),
  socketDrops: 0,
  socketsCutByRestart: 0,
  resumes: 0,
  restarts: 0,
  relayFaults: { orderRoom: 0, projection: 0, afterDelivery: 0 },
  leftToExpire: 0,
  expired: 0,
  events: 0,
  lost: 0,
  duplicated: 0,
  diverged: 0,
  notJson: 0,
  expiryLateMaxMs: 0,
});

export type Answer = { status: number; body: unknown };

export class Harness {
  readonly cfg: Config;
  readonly server: DevServer;
  readonly rng: Rng;
  readonly world: Merchant[] = [];
  readonly ledger = new Map<string, LedgerEntry<Watcher>>();
  readonly counts = newCounts();
  readonly checks = new Checks();
  /** Answers that were not JSON, described once each. */
  readonly notes = new Set<string>();
  readonly startedAt = Date.now();
  stopping = false;
  lastPlacedAt = 0;
  keySeq = 0;
  private readonly tokens = new Map<string, string>();

  constructor(cfg: Config, server: DevServer) {
    this.cfg = cfg;
    this.server = server;
    this.rng = seededRandom(cfg.seed);
  }

  newKey(kind: string): string {
    return `chaos-${this.cfg.seed}-${++this.keySeq}-${kind}`;
  }

  log(msg: string): void {
    console.log(`[chaos +${((Date.now() - this.startedAt) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
  }

  /** Every screen and tracker of every merchant. */
  watchers(): Watcher[] {
    return this.world.flatMap((m) => [...m.screens, ...m.trackers]);
  }

  overTime(): boolean {
    return Date.now() - this.startedAt > this.cfg.maxMinutes * 60_000;
  }

  /** One request; status 0 when the server is down or did not answer. */
  async http(method: string, p: string, opts: { token?: string; body?: unknown; key?: string } = {}): Promise<Answer> {
    if (!this.server.up) return { status: 0, body: null };
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.key) headers["Idempotency-Key"] = opts.key;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const res = await fetch(this.server.base + p, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // noted below
      }
      const jsonType = (res.headers.get("content-type") ?? "").startsWith("application/json");
      if (json === null || !jsonType || /<html|\n\s+at \S/i.test(text)) {
        this.counts.notJson++;
        this.notes.add(`non-JSON answer ${res.status} to ${method} ${p}: ${text.slice(0, 120)}`);
      }
      return { status: res.status, body: json };
    } catch {
      return { status: 0, body: null };
    }
  }

  /** Until it gets a definitive (reachable, non-5xx, non-429) answer. */
  async httpSure(method: string, p: string, opts: { token?: string; body?: unknown } = {}, timeoutMs = 180_000) {
    const t0 = Date.now();
    for (;;) {
      const res = await this.http(method, p, opts);
      if (res.status !== 0 && res.status < 500 && res.status !== 429) return res;
      if (res.status === 429) this.counts.rateLimited++;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`${method} ${p}: no answer in ${timeoutMs} ms (last ${res.status})`);
      await sleep(this.rng.between(100, 400));
    }
  }

  /** A dev token (cached) for a role and sub (and a merchant's staff: its merchant). */
  async tokenFor(role: string, sub: string, merchantId?: string): Promise<string> {
    const k = `${role}:${sub}:${merchantId ?? ""}`;
    const cached = this.tokens.get(k);
    if (cached) return cached;
    const res = await this.httpSure("POST", "/api/dev/token", {
      body: { role, sub, ...(merchantId ? { merchantId } : {}) },
    });
    const token = (res.body as { token?: string } | null)?.token;
    if (res.status !== 200 || !token) throw new Error(`dev token refused: ${res.status} ${JSON.stringify(res.body)}`);
    this.tokens.set(k, token);
    return token;
  }
}
