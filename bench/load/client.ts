/**
 * What every load process can do whatever its role: its HTTP client of the product (set by
 * `init`), its own CPU time, untimed order placement for setup, and sequential GET timing.
 */
import { type HttpClient, httpClient, mapLimit, ORDER_ITEMS } from "../lib/common.ts";

let product: HttpClient | null = null;
const others = new Map<string, HttpClient>();

/** The keep-alive client of the product's origin given to `init`. */
export function api(): HttpClient {
  if (!product) throw new Error("load process used before init");
  return product;
}

/** A keep-alive client for another origin (the ws baseline), or the product's. */
export function clientFor(origin?: string): HttpClient {
  if (!origin) return api();
  let c = others.get(origin);
  if (!c) {
    c = httpClient(origin, { maxSockets: 256 });
    others.set(origin, c);
  }
  return c;
}

export type PlacedOrder = { id: string; token: string };

/** Places `n` orders (setup, untimed), the i-th with the i-th customer's token (round robin). */
export async function placeMany({
  merchantId,
  tokens,
  n,
  concurrency = 8,
}: {
  merchantId: string;
  tokens: string[];
  n: number;
  concurrency?: number;
}): Promise<{ orders: PlacedOrder[] }> {
  const orders = await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async (i) => {
      const token = tokens[i % tokens.length]!;
      const r = await api()<{ id: string }>("POST", "/api/orders", { token, body: { merchantId, items: ORDER_ITEMS } });
      if (r.status !== 201 || !r.json) throw new Error(`placing an order failed: ${r.status} ${r.text ?? r.error}`);
      return { id: r.json.id, token };
    },
  );
  return { orders };
}

/** The handlers every load process has. */
export const clientHandlers = {
  init({ base }: { base: string }) {
    product = httpClient(base, { maxSockets: 256 });
    return { pid: process.pid };
  },

  cpu() {
    const u = process.cpuUsage();
    return { cpuMs: (u.user + u.system) / 1000 };
  },

  placeMany,

  /** GET latency, sequential (a poll's own cost, the REST floor). */
  async getLatency({ path, token, n, warmup }: { path: string; token?: string; n: number; warmup: number }) {
    const samples: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const r = await api()("GET", path, { token });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
      if (i >= warmup) samples.push(r.t1 - r.t0);
    }
    return { samples };
  },
};
