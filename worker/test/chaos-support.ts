/**
 * Shared by replay-property.test.ts and chaos.test.ts: a client that watches one room's stream
 * across any number of connections (resuming with `since`) — its bookkeeping and checks are the
 * chaos core's (bench/chaos/core/, which `npm run chaos` uses too), the sockets the test pool's.
 */
import { Checks, canonical, checkStream, type StreamKind, StreamView } from "../../bench/chaos/core/index.ts";
import type { Order } from "../../schema/index.ts";
import { inMerchantRoom } from "./support/room-seams.ts";
import { open, type TestSocket } from "./support/sockets.ts";

export { boardDiff, canonical } from "../../bench/chaos/core/index.ts";

/**
 * One screen (merchant room) or tracking page (order room) over its whole life, on the test
 * pool's sockets. Every stream event must carry exactly the next seq after the last one seen;
 * violations are collected (`violations`), not thrown, so a run reports them all.
 */
export class StreamWatcher extends StreamView {
  readonly path: string;
  readonly token: string;
  socket: TestSocket | null = null;
  drops = 0;

  constructor(kind: StreamKind, path: string, token: string, name: string) {
    super(kind, name);
    this.path = path;
    this.token = token;
  }

  get connected(): boolean {
    return this.socket !== null && this.socket.closed === null;
  }

  /** Connects; with `resume` (and a known position) it asks for everything after it. */
  connect(resume = true): Promise<void> {
    return this.exclusive(() => this.connectNow(resume));
  }

  private async connectNow(resume: boolean): Promise<void> {
    if (this.socket) await this.dropNow();
    const query: Record<string, string> = {};
    if (resume && this.lastSeq !== null && this.epoch !== null) {
      query.since = String(this.lastSeq);
      query.epoch = this.epoch;
    }
    this.socket = await open(this.path, { token: this.token, query });
    this.beginConnection();
    this.drain();
  }

  /** Closes from the client side and waits for the close to complete (no frame can follow). */
  drop(): Promise<void> {
    return this.exclusive(() => this.dropNow());
  }

  private async dropNow(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (socket.closed === null) {
      socket.close(1000);
      await socket.waitClosed(10_000).catch(() => undefined);
    }
    this.forget();
  }

  /** Takes what the gone socket received, and lets it go: a drop, whoever closed it. */
  private forget(): void {
    this.drain();
    this.socket = null;
    this.drops++;
  }

  /** The server closed the socket (eviction, restart): account for it like a drop. */
  noticeClosed(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.socket || this.socket.closed === null) return false;
      this.forget();
      return true;
    });
  }

  /** Reconnects with `since` if the socket is gone (closed by either side); true if it did. */
  resumeIfClosed(): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.connected) return false;
      if (this.socket) this.forget();
      await this.connectNow(true);
      return true;
    });
  }

  /** Processes every envelope received since the last call. */
  drain(): void {
    if (this.socket) this.takeFrom(this.socket.envelopes);
  }

  /** Waits until the stream has reached `seq` (draining as frames come in). */
  async reach(seq: number, timeoutMs = 10_000): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new Error(`${this.name} is not connected`);
    await socket.until(
      () => {
        this.drain();
        return (this.lastSeq ?? -1) >= seq;
      },
      timeoutMs,
      `${this.name} to reach seq ${seq} (at ${this.lastSeq})`,
    );
  }

  /**
   * Compares everything received with the room's own log: each seq after the first snapshot was
   * received exactly once (or stood in for by a later snapshot), as the very envelope the room
   * stored. Returns the problems found (with the violations seen on the way), and their counts.
   */
  check(log: Map<number, string>, roomSeq: number) {
    const checks = new Checks([]);
    checkStream(checks, this, roomSeq, (seq, got) => {
      const stored = log.get(seq);
      return stored !== undefined && canonical(got) === canonical(JSON.parse(stored));
    });
    return { problems: checks.failures(), ...checks.tally };
  }
}

/** Every order the merchant room holds (board and history), by id. */
export async function merchantOrders(merchantId: string): Promise<Map<string, Order>> {
  const rows = await inMerchantRoom(merchantId, (_, state) =>
    state.storage.sql.exec<{ json: string }>(`SELECT json FROM orders`).toArray(),
  );
  return new Map(rows.map((r) => [(JSON.parse(r.json) as Order).id, JSON.parse(r.json) as Order]));
}
