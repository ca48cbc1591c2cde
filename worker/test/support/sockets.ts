/**
 * Real sockets through the Worker: a client that queues what it receives, opening the two rooms'
 * sockets, sending an action and waiting for its reply, and checking every frame a socket
 * received against the contract — each envelope parses with the schema/ws.ts schemas, replies
 * carry no seq, no payload carries a seq, and a socket's stream events are numbered without gaps
 * from where its SNAPSHOT / since left off.
 */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { z } from "zod";
import {
  IsoTimeSchema,
  type MerchantActionName,
  MerchantServerEnvelopeSchema,
  OrderServerEnvelopeSchema,
} from "../../../schema/index.ts";
import { tokens } from "./credentials.ts";
import { flushOutbox, orderStub, placeOrder, setupMerchant } from "./fixtures.ts";
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

const REPLIES = new Set(["ACK", "BULK_RESULT", "ERROR"]);
const POSITIONS = new Set(["SNAPSHOT", "REPLAY_DONE"]);
/** The envelope's fields (CONTRACT.md "Frames"); anything else is a protocol leak. */
const ENVELOPE_KEYS = new Set(["event", "seq", "requestId", "at", "payload"]);

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

export interface FrameCheckOptions {
  /** The socket was opened with ?since=N (and the right epoch): its stream starts at N+1. */
  since?: number;
}

/**
 * Checks every frame `socket` received against the contract and returns the envelopes in
 * arrival order. Throws (failing the test) on the first violation.
 */
export function checkFrames(socket: TestSocket, room: "merchant" | "order", opts: FrameCheckOptions = {}): any[] {
  const schema: z.ZodType = room === "merchant" ? MerchantServerEnvelopeSchema : OrderServerEnvelopeSchema;
  const out: any[] = [];
  let expected: number | null = opts.since !== undefined ? opts.since + 1 : null;
  let first = true;
  for (const frame of socket.frames) {
    if (frame === "pong") continue;
    let parsed: unknown;
    expect(() => (parsed = JSON.parse(frame)), `frame is JSON: ${frame.slice(0, 200)}`).not.toThrow();
    const envelopes = Array.isArray(parsed) ? parsed : [parsed];
    if (Array.isArray(parsed)) expect(parsed.length, "a coalesced frame is never empty").toBeGreaterThan(0);
    for (const env of envelopes) {
      const result = schema.safeParse(env);
      expect(
        result.success,
        `${room} envelope fails its schema: ${JSON.stringify(env).slice(0, 500)} ${result.success ? "" : JSON.stringify(result.error.issues).slice(0, 800)}`,
      ).toBe(true);
      const e = env as { event: string; seq?: number; at: string; payload: Record<string, unknown> };
      for (const key of Object.keys(e))
        expect(ENVELOPE_KEYS.has(key), `unexpected envelope key ${key} on ${e.event}`).toBe(true);
      if (e.event === "ERROR")
        for (const key of Object.keys(e.payload)) expect(["code", "message", "details"]).toContain(key);
      expect(IsoTimeSchema.safeParse(e.at).success, `at is an ISO time: ${e.at}`).toBe(true);
      expect(e.payload, "payload is an object").toBeTypeOf("object");
      expect("seq" in e.payload, `seq is on the envelope, never in the payload (${e.event})`).toBe(false);
      if (REPLIES.has(e.event)) {
        expect(e.seq, `a reply carries no seq (${e.event})`).toBeUndefined();
        expect(room, "the order room sends no ACK / BULK_RESULT").toSatisfy(
          (r: string) => r === "merchant" || e.event === "ERROR",
        );
      } else {
        expect(e.seq, `${e.event} carries a seq`).toBeTypeOf("number");
      }
      if (first) {
        expect(
          e.event === "SNAPSHOT" || opts.since !== undefined,
          `the first frame of a socket opened without since is SNAPSHOT (got ${e.event})`,
        ).toBe(true);
        first = false;
      }
      if (e.event === "SNAPSHOT") {
        expected = e.seq! + 1;
      } else if (e.event === "REPLAY_DONE") {
        expect(expected, "REPLAY_DONE only on a socket opened with since").not.toBeNull();
        expect(e.seq, "REPLAY_DONE carries the seq of the last replayed event").toBe(expected! - 1);
      } else if (!REPLIES.has(e.event)) {
        expect(expected, `a stream event before SNAPSHOT: ${e.event}`).not.toBeNull();
        expect(e.seq, `stream events are gap-free (${e.event})`).toBe(expected);
        expected! += 1;
      }
      out.push(env);
    }
  }
  return out;
}

/** The end of a test: every frame each socket received is checked (checkFrames), then it is closed. */
export function checkAndClose(room: "merchant" | "order", ...sockets: TestSocket[]): void {
  for (const socket of sockets) {
    checkFrames(socket, room);
    socket.close();
  }
}

/** True if a frame is a JSON array (several envelopes coalesced). */
export function isArrayFrame(frame: string): boolean {
  return frame.startsWith("[");
}

/** The frames carrying at least one stream event. */
export function streamFrames(socket: TestSocket): string[] {
  return socket.frames.filter((f) => {
    if (f === "pong") return false;
    const parsed = JSON.parse(f) as unknown;
    const envs = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ event: string }>;
    return envs.some((e) => !REPLIES.has(e.event) && !POSITIONS.has(e.event));
  });
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
