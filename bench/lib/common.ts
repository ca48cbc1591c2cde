/**
 * Shared by the orchestrator and the load processes: one clock, percentiles, a keep-alive HTTP
 * client and small socket helpers. Only Node built-ins and `ws`.
 */
import http from "node:http";
import { WebSocket } from "ws";

/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime). The clock is system-wide on Linux, so a send
 * time taken in one load process and a receive time taken in another are comparable.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Linear-interpolated percentile of an already sorted array. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(rank)]!;
  const hi = sorted[Math.ceil(rank)]!;
  return lo + (hi - lo) * (rank - Math.floor(rank));
}

/** Percentiles of a sample, rounded to 0.01 ms; every figure null when there is no sample. */
export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(values: Iterable<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { n: 0, p50: null, p95: null, p99: null, min: null, max: null, mean: null };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n,
    p50: round(percentileSorted(sorted, 50)),
    p95: round(percentileSorted(sorted, 95)),
    p99: round(percentileSorted(sorted, 99)),
    min: round(sorted[0]),
    max: round(sorted[n - 1]),
    mean: round(sum / n),
  };
}

export function median(values: Iterable<number>): number | null {
  return summarize(values).p50;
}

export function round(v: number | null | undefined, digits = 2): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** What every HTTP call resolves with: status 0 on a transport error (then `error` says why). */
export interface HttpResult<T = unknown> {
  status: number;
  /** The parsed body, typed as the caller expects it from the contract (not validated). */
  json?: T;
  text?: string;
  error?: string;
  /** Taken just before the request is created and when its last byte arrived. */
  t0: number;
  t1: number;
}

export interface HttpOptions {
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpClient {
  <T = unknown>(method: string, path: string, opts?: HttpOptions): Promise<HttpResult<T>>;
  close(): void;
}

/** A keep-alive HTTP client for one origin. Every call resolves (never rejects). */
export function httpClient(base: string, { maxSockets = 64 } = {}): HttpClient {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const request = <T>(method: string, path: string, { token, body, headers = {} }: HttpOptions = {}) =>
    new Promise<HttpResult<T>>((resolve) => {
      const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const h: Record<string, string | number> = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      if (payload !== undefined) {
        h["content-type"] = "application/json";
        h["content-length"] = Buffer.byteLength(payload);
      }
      const t0 = now();
      const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers: h }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const t1 = now();
          const text = Buffer.concat(chunks).toString();
          let json: T | undefined;
          try {
            json = JSON.parse(text) as T;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text, t0, t1 });
        });
        res.on("error", (err) => resolve({ status: 0, error: String(err), t0, t1: now() }));
      });
      req.on("error", (err) => resolve({ status: 0, error: String(err), t0, t1: now() }));
      req.setTimeout(30_000, () => req.destroy(new Error("timed out after 30 s")));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return Object.assign(request, { close: () => agent.destroy() });
}

/** Opens a client socket the way a non-browser client would (no compression, token in the URL). */
export function openSocket(url: string): WebSocket {
  return new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000 });
}

/** Resolves on open; rejects on error or an HTTP refusal, with the status if there was one. */
export function onceOpen(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

/** A server envelope as the bench reads it: only the fields it looks at (CONTRACT.md "Frames"). */
export interface Envelope {
  event: string;
  seq?: number;
  requestId?: string;
  /** The echo floor's own frames carry their index instead. */
  i?: number;
  payload?: {
    epoch?: string;
    replayed?: number;
    merchantAction?: string;
    order?: { id: string; version: number; status: string };
    results?: { ok: boolean }[];
    code?: string;
  };
}

/** The envelopes of one server frame: the server may send one envelope or a JSON array of them. */
export function envelopesOf(text: string): Envelope[] {
  const parsed = JSON.parse(text) as Envelope | Envelope[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A small order, like a real one: two lines, one with a note. */
export const ORDER_ITEMS = [
  { name: "Margherita", quantity: 2, unitPriceCents: 1100, notes: "extra basil" },
  { name: "Lemonade", quantity: 1, unitPriceCents: 350 },
];

/** Round-robin split of `list` into `parts` lists. */
export function split<T>(list: readonly T[], parts: number): T[][] {
  const out = Array.from({ length: parts }, (): T[] => []);
  for (const [i, x] of list.entries()) out[i % parts]!.push(x);
  return out;
}
