/**
 * Clients of the live rooms for the chaos run against `wrangler dev`: a socket that queues every
 * envelope it receives, and a watcher that follows one room's stream across any number of
 * connections (resuming with `since`). The bookkeeping and its rules are the chaos core's
 * (core/stream.ts), the same as worker/test/chaos-support.ts uses inside workerd.
 */
import { WebSocket } from "ws";
import { sleep } from "../lib/common.ts";
import { type StreamEnvelope, type StreamKind, StreamView } from "./core/index.ts";

const REPLIES = new Set(["ACK", "ERROR", "BULK_RESULT"]);

export class Socket {
  readonly envelopes: StreamEnvelope[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(url: URL, token: string) {
    this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: 15_000 });
    this.ws.on("message", (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString("utf8") : data.toString();
      if (text === "pong") return;
      try {
        const parsed = JSON.parse(text) as StreamEnvelope | StreamEnvelope[];
        for (const env of Array.isArray(parsed) ? parsed : [parsed]) this.envelopes.push(env);
      } catch {
        this.envelopes.push({ event: "UNPARSEABLE", payload: { text: text.slice(0, 200) } });
      }
      this.wake();
    });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on("error", () => {
      // a 'close' always follows
    });
    this.ws.on("unexpected-response", (_req, res) => {
      this.closed = { code: 0, reason: `upgrade refused: ${res.statusCode}` };
      this.wake();
      this.ws.terminate();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once pred() holds, false on timeout. */
  until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (pred()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  /** Closes from the client side and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.ws.close(1000, "bye");
    } catch {
      // already closing
    }
    if (!(await this.until(() => this.closed !== null, 5000))) this.ws.terminate();
    await this.until(() => this.closed !== null, 2000);
  }

  /** Waits for the reply to `requestId` sent after index `from`; null if the socket closed first. */
  async reply(requestId: string, from: number, timeoutMs = 20_000): Promise<StreamEnvelope | null> {
    const find = () => this.envelopes.slice(from).find((e) => e.requestId === requestId && REPLIES.has(e.event));
    await this.until(() => find() !== undefined || this.closed !== null, timeoutMs);
    return find() ?? null;
  }
}

/** One screen (merchant room) or tracking page (order room) over its whole life. */
export class Watcher extends StreamView {
  readonly base: string;
  readonly path: string;
  readonly token: string;
  /** A screen's merchant staff sub (its token's). */
  sub = "";
  socket: Socket | null = null;
  drops = 0;
  /** Connections the server cut (a restart), as opposed to drops we made. */
  cut = 0;

  constructor(o: { kind: StreamKind; base: string; path: string; token: string; name: string }) {
    super(o.kind, o.name);
    this.base = o.base;
    this.path = o.path;
    this.token = o.token;
  }

  get connected(): boolean {
    return this.socket !== null && this.socket.closed === null;
  }

  /** (Re)connects, resuming with since/epoch when it has a position; throws if refused or slow. */
  connect(resume = true): Promise<void> {
    return this.exclusive(async () => {
      if (this.socket) this.retire(false);
      const url = new URL(this.path, this.base.replace(/^http/, "ws"));
      if (resume && this.lastSeq !== null && this.epoch !== null) {
        url.searchParams.set("since", String(this.lastSeq));
        url.searchParams.set("epoch", this.epoch);
      }
      const socket = new Socket(url, this.token);
      const positioned = () => socket.envelopes.some((e) => e.event === "SNAPSHOT" || e.event === "REPLAY_DONE");
      const ok = await socket.until(() => positioned() || socket.closed !== null, 20_000);
      if (!ok || (socket.closed !== null && socket.envelopes.length === 0)) {
        socket.ws.terminate();
        throw new Error(`${this.name}: could not connect (${socket.closed?.reason ?? "timeout"})`);
      }
      this.socket = socket;
      this.beginConnection();
      this.drain();
    });
  }

  /** Reconnects with since if the socket is gone; true if it did. */
  async resumeIfClosed(): Promise<boolean> {
    const gone = await this.exclusive(async () => {
      if (this.connected) return false;
      if (this.socket) this.retire(true);
      return true;
    });
    if (gone) await this.connect(true);
    return gone;
  }

  /** A client-side drop: close, wait for it to complete, account for everything received. */
  drop(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.socket || !this.connected) return false;
      await this.socket.close();
      this.retire(false);
      this.drops++;
      return true;
    });
  }

  private retire(cutByServer: boolean): void {
    this.drain();
    if (cutByServer) this.cut++;
    this.socket = null;
  }

  drain(): void {
    if (this.socket) this.takeFrom(this.socket.envelopes);
  }

  /** Waits (draining, reconnecting) until pred(this) holds; false on timeout. */
  async until(pred: (w: this) => boolean, timeoutMs: number): Promise<boolean> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (!this.connected) await this.resumeIfClosed().catch(() => undefined);
      const s = this.socket;
      if (!s || !this.connected) {
        await sleep(200);
        continue;
      }
      this.drain();
      if (pred(this)) return true;
      await s.until(() => this.socket !== s || s.envelopes.length > this.consumed || s.closed !== null, 500);
    }
    this.drain();
    return pred(this);
  }
}
