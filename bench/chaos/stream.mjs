/**
 * Clients of the live rooms for the chaos run: a socket that queues every envelope it receives,
 * and a watcher that follows one room's stream across any number of connections (resuming with
 * `since`), checking as frames arrive that it is gap-free and exactly-once and keeping the view
 * a kitchen screen or a tracking page would show. The same rules as worker/test/chaos-support.ts.
 */
import { WebSocket } from "ws";

const ACTIVE = new Set(["PLACED", "ACCEPTED", "PREPARING", "READY"]);
const REPLIES = new Set(["ACK", "ERROR", "BULK_RESULT"]);

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export class Socket {
  constructor(url, token) {
    this.envelopes = [];
    this.closed = null;
    this.waiters = new Set();
    this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: 15_000 });
    this.ws.on("message", (data, isBinary) => {
      const text = isBinary ? Buffer.from(data).toString("utf8") : data.toString();
      if (text === "pong") return;
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.envelopes.push({ event: "UNPARSEABLE", payload: { text: text.slice(0, 200) } });
        this.wake();
        return;
      }
      for (const env of Array.isArray(parsed) ? parsed : [parsed]) this.envelopes.push(env);
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
      this.refused = res.statusCode;
      this.closed = { code: 0, reason: `upgrade refused: ${res.statusCode}` };
      this.wake();
      this.ws.terminate();
    });
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once pred() holds, false on timeout. */
  until(pred, timeoutMs) {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (pred()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }

  send(obj) {
    this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }

  /** Closes from the client side and waits for the close to complete. */
  async close() {
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
  async reply(requestId, from, timeoutMs = 20_000) {
    const find = () => this.envelopes.slice(from).find((e) => e.requestId === requestId && REPLIES.has(e.event));
    await this.until(() => find() !== undefined || this.closed !== null, timeoutMs);
    return find() ?? null;
  }
}

/**
 * One screen (merchant room) or tracking page (order room) over its whole life: every stream event
 * must carry exactly the next seq; only a SNAPSHOT may move the position, never backwards.
 */
export class Watcher {
  constructor({ kind, base, path, token, name }) {
    Object.assign(this, { kind, base, path, token, name });
    this.socket = null;
    this.lastSeq = null;
    this.firstSeq = null;
    this.epoch = null;
    this.received = new Map();
    this.skipped = new Set();
    this.violations = [];
    this.board = new Map();
    this.order = null;
    this.connects = 0;
    this.drops = 0;
    this.cut = 0;
    this.replayed = 0;
    this.consumed = 0;
    this.queue = Promise.resolve();
  }

  exclusive(fn) {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get connected() {
    return this.socket !== null && this.socket.closed === null;
  }

  /** (Re)connects, resuming with since/epoch when it has a position; throws if refused or slow. */
  connect(resume = true) {
    return this.exclusive(async () => {
      if (this.socket) this.retire(false);
      const url = new URL(this.path, this.base.replace(/^http/, "ws"));
      if (resume && this.lastSeq !== null && this.epoch !== null) {
        url.searchParams.set("since", String(this.lastSeq));
        url.searchParams.set("epoch", this.epoch);
      }
      const socket = new Socket(url, this.token);
      const ok = await socket.until(
        () =>
          socket.envelopes.some((e) => e.event === "SNAPSHOT" || e.event === "REPLAY_DONE") || socket.closed !== null,
        20_000,
      );
      if (!ok || (socket.closed !== null && socket.envelopes.length === 0)) {
        socket.ws.terminate();
        throw new Error(`${this.name}: could not connect (${socket.closed?.reason ?? "timeout"})`);
      }
      this.socket = socket;
      this.consumed = 0;
      this.connects++;
      this.drain();
    });
  }

  /** Reconnects with since if the socket is gone; true if it did. */
  resumeIfClosed() {
    return this.exclusive(async () => {
      if (this.connected) return false;
      if (this.socket) this.retire(true);
      return true;
    }).then(async (gone) => {
      if (!gone) return false;
      await this.connect(true);
      return true;
    });
  }

  /** A client-side drop: close, wait for it to complete, account for everything received. */
  drop() {
    return this.exclusive(async () => {
      if (!this.connected) return false;
      await this.socket.close();
      this.retire(false);
      this.drops++;
      return true;
    });
  }

  retire(cutByServer) {
    this.drain();
    if (cutByServer) this.cut++;
    this.socket = null;
  }

  drain() {
    const socket = this.socket;
    if (!socket) return;
    while (this.consumed < socket.envelopes.length) this.take(socket.envelopes[this.consumed++]);
  }

  take(env) {
    const where = `${this.name} connection ${this.connects}`;
    switch (env.event) {
      case "SNAPSHOT": {
        if (this.lastSeq !== null && env.seq < this.lastSeq && env.payload.epoch === this.epoch)
          this.violations.push(`${where}: SNAPSHOT at ${env.seq} behind ${this.lastSeq}`);
        if (this.lastSeq !== null && env.payload.epoch !== this.epoch)
          this.violations.push(`${where}: the epoch changed`);
        if (this.lastSeq !== null) for (let s = this.lastSeq + 1; s <= env.seq; s++) this.skipped.add(s);
        this.firstSeq ??= env.seq;
        this.lastSeq = env.seq;
        this.epoch = env.payload.epoch;
        if (this.kind === "merchant") {
          this.board.clear();
          for (const o of env.payload.orders) this.board.set(o.id, o);
        } else this.order = env.payload.order;
        return;
      }
      case "REPLAY_DONE":
        if (env.seq !== this.lastSeq)
          this.violations.push(`${where}: REPLAY_DONE at ${env.seq}, replay reached ${this.lastSeq}`);
        this.replayed += env.payload.replayed;
        return;
      case "ACK":
      case "BULK_RESULT":
      case "ERROR":
        if (env.seq !== undefined) this.violations.push(`${where}: ${env.event} carries seq`);
        return;
      case "UNPARSEABLE":
        this.violations.push(`${where}: unparseable frame ${env.payload.text}`);
        return;
    }
    const seq = env.seq;
    if (typeof seq !== "number") return void this.violations.push(`${where}: ${env.event} without seq`);
    if (this.lastSeq === null) this.violations.push(`${where}: ${env.event} ${seq} before any SNAPSHOT`);
    else if (this.received.has(seq)) this.violations.push(`${where}: seq ${seq} received twice`);
    else if (seq !== this.lastSeq + 1)
      this.violations.push(`${where}: seq ${seq} after ${this.lastSeq} (gap or reorder)`);
    this.received.set(seq, env);
    this.lastSeq = Math.max(seq, this.lastSeq ?? 0);
    const order = env.payload.order;
    if (this.kind === "merchant") {
      const had = this.board.get(order.id);
      if (had && had.version >= order.version)
        this.violations.push(`${where}: ${order.id} v${order.version} after v${had.version}`);
      if (ACTIVE.has(order.status)) this.board.set(order.id, order);
      else this.board.delete(order.id);
    } else {
      if (this.order && order.version !== this.order.version + 1)
        this.violations.push(`${where}: v${order.version} after v${this.order.version}`);
      this.order = order;
    }
  }

  /** Waits (draining) until pred(this) holds; false on timeout. */
  async until(pred, timeoutMs) {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (!this.connected) {
        await this.resumeIfClosed().catch(() => undefined);
        if (!this.connected) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
      }
      this.drain();
      if (pred(this)) return true;
      const s = this.socket;
      await s.until(() => this.socket !== s || s.envelopes.length > this.consumed || s.closed !== null, 500);
    }
    this.drain();
    return pred(this);
  }
}
