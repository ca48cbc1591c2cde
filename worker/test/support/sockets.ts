/**
 * Real sockets through the Worker: a client that queues what it receives, opening the two rooms'
 * sockets, sending an action and waiting for its reply, waiting without sleeping. (What every
 * frame must look like: frames.ts.)
 */
import { exports } from "cloudflare:workers";
import type { MerchantActionName } from "../../../schema/index.ts";
import { tokens } from "./credentials.ts";
import { flushOutbox, orderStub, placeOrder, setupMerchant } from "./fixtures.ts";
import { REPLIES } from "./frames.ts";
import { type ApiResponse, asApiResponse, BASE } from "./http.ts";

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

/**
 * A raw upgrade request: the socket is closed at once if it opened, else the refusal is read as
 * JSON (for expectError).
 */
export async function upgrade(
  path: string,
  opts: { authorization?: string; query?: Record<string, string>; origin?: string } = {},
): Promise<ApiResponse & { opened: boolean }> {
  const url = new URL(`${BASE}${path}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (opts.authorization !== undefined) headers.Authorization = opts.authorization;
  if (opts.origin !== undefined) headers.Origin = opts.origin;
  const res = await exports.default.fetch(url, { headers });
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "test over");
    return { opened: true, status: res.status, body: null, headers: res.headers };
  }
  return { opened: false, ...(await asApiResponse(res)) };
}

export const merchantPath = (merchantId: string) => `/ws/merchant/${merchantId}/orders`;
export const orderPath = (orderId: string) => `/ws/order/${orderId}`;

let requestCounter = 0;
/** A requestId unique within the test run. */
export function rid(prefix = "r"): string {
  return `${prefix}-${++requestCounter}-${crypto.randomUUID().slice(0, 8)}`;
}

export function openMerchantSocket(
  merchantId: string,
  token: string,
  query?: Record<string, string>,
): Promise<TestSocket> {
  return open(merchantPath(merchantId), { token, ...(query ? { query } : {}) });
}

export function openOrderSocket(orderId: string, token: string, query?: Record<string, string>): Promise<TestSocket> {
  return open(orderPath(orderId), { token, ...(query ? { query } : {}) });
}

/** Opens an order-room socket that replays the room's stream from its event 1. */
export async function openOrderSocketFromStart(orderId: string, token: string): Promise<TestSocket> {
  const { epoch } = await orderStub(orderId).streamInfo();
  return openOrderSocket(orderId, token, { since: "0", epoch });
}

/**
 * A merchant with one order placed by `customerId`, and that customer's phone watching it: from a
 * SNAPSHOT, or with `fromStart` replaying the order room's stream from its event 1.
 */
export async function customerWatching(customerId: string, opts: { fromStart?: boolean } = {}) {
  const { merchantId, staff } = await setupMerchant();
  const customerToken = await tokens.customer(customerId);
  const order = await placeOrder(merchantId, customerToken);
  await flushOutbox(merchantId);
  const phone = opts.fromStart
    ? await openOrderSocketFromStart(order.id, customerToken)
    : await openOrderSocket(order.id, customerToken);
  return { merchantId, staff, customerToken, order, phone };
}

/** Sends one action frame and waits for the reply (ACK / BULK_RESULT / ERROR) with its requestId. */
export async function act(
  socket: TestSocket,
  action: MerchantActionName,
  payload: Record<string, unknown>,
  requestId = rid(),
  timeoutMs = 10_000,
): Promise<any> {
  const from = socket.envelopes.length;
  socket.send({ action, requestId, payload });
  return reply(socket, requestId, timeoutMs, from);
}

/** Waits for the first reply carrying `requestId` received at or after envelope index `from`. */
export async function reply(
  socket: TestSocket,
  requestId: string | undefined,
  timeoutMs = 10_000,
  from = 0,
): Promise<any> {
  let found: any;
  const match = (e: any) => typeof e === "object" && REPLIES.has(e.event) && e.requestId === requestId;
  await socket.until(
    (envs) => (found = envs.slice(from).find(match)) !== undefined,
    timeoutMs,
    `reply to ${requestId}`,
  );
  return found;
}

/** Waits until the socket holds `n` stream events in total; returns them. */
export async function streamCount(socket: TestSocket, n: number, timeoutMs = 10_000): Promise<any[]> {
  await socket.until(() => socket.stream().length >= n, timeoutMs, `${n} stream events`);
  return socket.stream();
}

/** Polls `check` until it returns true (for state that is not pushed on a socket). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A round trip through the socket: sends `ping` and waits for its `pong`. Frames leave a socket in
 * order, so anything the room sent before it saw the ping has arrived once this returns — the way
 * to assert that something did NOT arrive, without sleeping.
 */
export async function barrier(socket: TestSocket, timeoutMs = 10_000): Promise<void> {
  const pongs = socket.envelopes.filter((e) => e === "pong").length;
  socket.send("ping");
  await socket.until((envs) => envs.filter((e) => e === "pong").length > pongs, timeoutMs, "pong");
}
