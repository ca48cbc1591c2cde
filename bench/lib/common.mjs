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
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Linear-interpolated percentile of an already sorted array. */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function summarize(values) {
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

export function median(values) {
  return summarize(values).p50;
}

export function round(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * A keep-alive HTTP client for one origin. Every call resolves (never rejects) with the status
 * (0 on a transport error), the parsed JSON body if any, and t0/t1: taken just before the
 * request is created and when its last byte arrived.
 */
export function httpClient(base, { maxSockets = 64 } = {}) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const request = (method, path, { token, body, headers = {} } = {}) =>
    new Promise((resolve) => {
      const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const h = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      if (payload !== undefined) {
        h["content-type"] = "application/json";
        h["content-length"] = Buffer.byteLength(payload);
      }
      const t0 = now();
      const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers: h }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const t1 = now();
          const text = Buffer.concat(chunks).toString();
          let json;
          try {
            json = JSON.parse(text);
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
  request.close = () => agent.destroy();
  return request;
}

/** Opens a client socket the way a non-browser client would (no compression, token in the URL). */
export function openSocket(url) {
  return new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000 });
}

/** Resolves on open; rejects on error or an HTTP refusal, with the status if there was one. */
export function onceOpen(ws) {
  return new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

/** The envelopes of one server frame: the server may send one envelope or a JSON array of them. */
export function envelopesOf(text) {
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
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
