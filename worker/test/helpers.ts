/**
 * Test helpers: real requests through the Worker (`exports.default.fetch`), real sockets, real
 * rooms. Every test uses fresh merchant ids so tests never share a room.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { issueToken } from "../auth.ts";
import type { Order, OrderItem, Role, UpsertMerchantBody } from "../../schema/index.ts";
import type { MerchantOrderRoom } from "../rooms/merchant-order-room.ts";

export const BASE = "http://ticket-rail.test";
export const SECRET = (env as unknown as { AUTH_SECRET: string }).AUTH_SECRET;

export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function token(role: Role, sub: string, merchantId?: string): Promise<string> {
  return issueToken({ role, sub, ...(merchantId !== undefined ? { merchantId } : {}) }, SECRET);
}

export const tokens = {
  customer: (id = "cust-1") => token("customer", id),
  merchant: (merchantId: string, staff = "staff-1") => token("merchant", staff, merchantId),
  driver: (id = "driver-1") => token("driver", id),
  dispatch: (id = "dispatch-1") => token("dispatch", id),
  platform: (id = "platform-1") => token("platform", id),
};

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** One REST call through the Worker. `body` is JSON-encoded unless it is a string. */
export async function api<T = any>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await exports.default.fetch(`${BASE}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text: some tests assert it is never HTML
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export const ITEMS: OrderItem[] = [
  { name: "Margherita", quantity: 2, unitPriceCents: 1100, notes: "extra basil" },
  { name: "Lemonade", quantity: 1, unitPriceCents: 350 },
];

/** Creates a merchant (via dispatch) and returns its id and a staff token. */
export async function setupMerchant(settings: Partial<UpsertMerchantBody> = {}) {
  const merchantId = uniqueId("m");
  const res = await api("PUT", `/api/merchants/${merchantId}`, {
    token: await tokens.dispatch(),
    body: { name: "Test Kitchen", ...settings },
  });
  expect(res.status).toBe(201);
  return { merchantId, staff: await tokens.merchant(merchantId) };
}

export async function placeOrder(
  merchantId: string,
  customerToken?: string,
  extra: Record<string, unknown> = {},
): Promise<Order> {
  const res = await api<Order>("POST", "/api/orders", {
    token: customerToken ?? (await tokens.customer()),
    body: { merchantId, items: ITEMS, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export function merchantStub(merchantId: string) {
  return env.MERCHANT_ROOM.get(env.MERCHANT_ROOM.idFromName(merchantId));
}

export function orderStub(orderId: string) {
  return env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId));
}

/** Delivers the merchant room's outbox now (so D1 and the order rooms are current). */
export async function flushOutbox(merchantId: string): Promise<void> {
  const { pending } = await merchantStub(merchantId).deliverPending();
  expect(pending).toBe(0);
}

/** Runs `fn` on the live MerchantOrderRoom instance (e.g. to move its clock or wrap its outbox). */
export function inMerchantRoom<R>(
  merchantId: string,
  fn: (room: MerchantOrderRoom, state: DurableObjectState) => R | Promise<R>,
) {
  return runInDurableObject(merchantStub(merchantId), fn);
}

// ------------------------------------------------------------------ sockets

/** A client socket that queues every envelope it receives (arrays are flattened). */
export class TestSocket {
  readonly envelopes: any[] = [];
  readonly frames: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const data = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
      this.frames.push(data);
      if (data === "pong") this.envelopes.push("pong");
      else {
        const parsed = JSON.parse(data);
        for (const env of Array.isArray(parsed) ? parsed : [parsed]) this.envelopes.push(env);
      }
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits until `pred` holds for the received envelopes (or times out). */
  async until(pred: (envs: any[]) => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.envelopes)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.envelopes).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Waits for the next envelope matching `pred` after index `from`, returns it. */
  async next(pred: (env: any) => boolean, timeoutMs = 5000): Promise<any> {
    let found: any;
    await this.until((envs) => (found = envs.find(pred)) !== undefined, timeoutMs, "matching envelope");
    return found;
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== null, timeoutMs, "close");
    return this.closed!;
  }

  /** Stream events (those with a seq, excluding SNAPSHOT / REPLAY_DONE). */
  stream(): any[] {
    return this.envelopes.filter(
      (e) => typeof e === "object" && e.seq !== undefined && e.event !== "SNAPSHOT" && e.event !== "REPLAY_DONE",
    );
  }

  close(code = 1000): void {
    try {
      this.ws.close(code, "bye");
    } catch {
      // already closed
    }
  }
}

/** Opens a socket through the Worker; returns the HTTP response when the upgrade is refused. */
export async function connect(
  path: string,
  opts: { token?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  const url = new URL(`${BASE}${path}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { Upgrade: "websocket", ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await exports.default.fetch(url, { headers });
  if (!res.webSocket) return { socket: null, response: res };
  res.webSocket.accept();
  return { socket: new TestSocket(res.webSocket), response: res };
}

/** Opens a socket that must be accepted, and waits for its first frame (SNAPSHOT or replay). */
export async function open(path: string, opts: Parameters<typeof connect>[1] = {}): Promise<TestSocket> {
  const { socket, response } = await connect(path, opts);
  if (!socket) throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
  await socket.until(
    (e) => e.some((x) => x.event === "SNAPSHOT" || x.event === "REPLAY_DONE"),
    5000,
    "snapshot or replay",
  );
  return socket;
}
