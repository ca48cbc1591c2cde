/**
 * A live room connection: partysocket reconnects (with backoff); every (re)connect asks for
 * `?since=<last applied seq>&epoch=<epoch>` so the room replays exactly what was missed. The
 * connection is `live` only once the room's SNAPSHOT or REPLAY_DONE has been applied; only then
 * may actions be sent. Nothing is ever queued while not live: a stale bump replayed minutes
 * later is a kitchen accident (partysocket's own send queue is switched off).
 */
import { PartySocket } from "partysocket";
import { CLOSE_REVOKED, envelopesOf } from "../../schema/index.ts";
import type { StreamCursor } from "./stream.ts";

export type LinkStatus = "connecting" | "syncing" | "live" | "reconnecting" | "offline";

export interface RoomLinkOptions {
  /** Socket path without a leading slash, e.g. `ws/merchant/demo/orders`. */
  path: string;
  token: () => string;
  /** Where to resume from; null asks for a snapshot. */
  cursor: () => StreamCursor | null;
  /** More query parameters for every (re)connect (the kitchen screen's `station`). */
  query?: () => Record<string, string>;
  /** Every envelope of every frame, unparsed: the owner parses it with its room's schema. */
  onEnvelope: (envelope: unknown) => void;
  onStatus: (status: LinkStatus) => void;
  /**
   * Called after a few failed attempts in a row, to find out whether the token is the reason —
   * and at once when the server closes the socket because the credential no longer holds
   * (CLOSE_REVOKED: a paired screen was revoked).
   */
  onRepeatedFailure?: () => void;
}

/** Keep-alive: the room answers `ping` with `pong` without waking up. */
const PING_EVERY_MS = 5_000;
/** No frame at all for this long on an open socket: it is dead, reconnect. */
const SILENCE_MS = 25_000;

export class RoomLink {
  status: LinkStatus = "connecting";
  /** When the socket last went down (null while up). */
  downSince: number | null = null;
  failures = 0;
  private lastFrameAt = Date.now();
  private readonly socket: PartySocket;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly onOffline = () => this.goOffline();
  private readonly onOnline = () => this.goOnline();
  private userOffline = false;

  constructor(private readonly opts: RoomLinkOptions) {
    this.socket = new PartySocket({
      host: location.host,
      protocol: location.protocol === "https:" ? "wss" : "ws",
      basePath: opts.path,
      query: () => {
        const cursor = opts.cursor();
        return {
          ...opts.query?.(),
          token: opts.token(),
          ...(cursor ? { since: String(cursor.since), epoch: cursor.epoch } : {}),
        };
      },
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 400,
      maxReconnectionDelay: 5_000,
      reconnectionDelayGrowFactor: 1.6,
      connectionTimeout: 6_000,
    });
    this.socket.addEventListener("open", () => {
      this.lastFrameAt = Date.now();
      this.setStatus("syncing");
    });
    this.socket.addEventListener("message", (e: MessageEvent) => this.handleMessage(e));
    this.socket.addEventListener("close", (e: CloseEvent) => this.handleDown(e.code));
    this.timer = setInterval(() => this.heartbeat(), PING_EVERY_MS);
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
  }

  /** The owner applied the room's SNAPSHOT or REPLAY_DONE: the screen is current. */
  synced(): void {
    this.failures = 0;
    this.downSince = null;
    this.setStatus("live");
  }

  get live(): boolean {
    return this.status === "live";
  }

  /** Sends one action frame, only while live. Returns false (and sends nothing) otherwise. */
  send(frame: object): boolean {
    if (!this.live || this.socket.readyState !== WebSocket.OPEN) return false;
    return this.socket.send(JSON.stringify(frame));
  }

  /** Resume from the current cursor now (after a gap, or on demand). */
  resume(): void {
    this.socket.reconnect();
    if (this.status === "live" || this.status === "syncing") this.handleDown();
  }

  /** Stop reconnecting (signed out, or the browser says it is offline). */
  close(): void {
    clearInterval(this.timer);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    this.socket.close();
  }

  private handleMessage(e: MessageEvent): void {
    this.lastFrameAt = Date.now();
    if (typeof e.data !== "string" || e.data === "pong") return;
    let frame: unknown;
    try {
      frame = JSON.parse(e.data);
    } catch {
      console.warn("[ticket-rail] ignoring a non-JSON frame");
      return;
    }
    for (const envelope of envelopesOf(frame)) this.opts.onEnvelope(envelope);
  }

  private handleDown(closeCode?: number): void {
    if (this.status === "live") this.downSince = Date.now();
    else this.failures++;
    this.downSince ??= Date.now();
    this.setStatus(this.userOffline || navigator.onLine === false ? "offline" : "reconnecting");
    if (closeCode === CLOSE_REVOKED || (this.failures > 0 && this.failures % 3 === 0)) this.opts.onRepeatedFailure?.();
  }

  private goOffline(): void {
    // The browser knows the network is gone: say so now instead of waiting for TCP to notice,
    // and stop burning retries until it comes back.
    this.userOffline = true;
    this.socket.close();
    this.downSince ??= Date.now();
    this.setStatus("offline");
  }

  private goOnline(): void {
    this.userOffline = false;
    this.setStatus("reconnecting");
    this.socket.reconnect();
  }

  private heartbeat(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastFrameAt > SILENCE_MS) {
      this.resume();
      return;
    }
    this.socket.send("ping");
  }

  private setStatus(status: LinkStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.opts.onStatus(status);
  }
}
