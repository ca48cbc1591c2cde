/**
 * What both rooms share: hibernatable sockets that open on a snapshot or a gap-free replay of
 * the room's EventLog, broadcast of committed events, and the hardening every socket frame
 * passes before a room looks at it (size, rate, JSON). Subclasses only say what a snapshot is
 * and what a parsed frame does.
 */
import { DurableObject } from "cloudflare:workers";
import {
  CLOSE_POLICY,
  CLOSE_TOO_LARGE,
  MAX_CLIENT_FRAME_BYTES,
  type ErrorBody,
  type Role,
} from "../../schema/index.ts";
import { errorField, log, stackField } from "../log.ts";
import { EventLog } from "./event-log.ts";
import { errorFrame, replayDoneFrame, type SnapshotPayload, snapshotFrame } from "./frames.ts";
import { DEFAULT_SOCKET_LIMIT, parseRateLimit, RateCounter } from "../rate-limit.ts";
import { findPoisonedKey } from "../json-guard.ts";

/** Kept on each socket with serializeAttachment, so it survives hibernation. */
export interface SocketIdentity {
  role: Role;
  sub: string;
  merchantId?: string;
  /** A paired device (Additions v2): its sockets close when it is revoked. */
  device?: true;
}

/** Header by which the Worker hands a verified identity to a room (never taken from clients). */
export const IDENTITY_HEADER = "x-ticket-rail-identity";

/**
 * Several envelopes (a replay, a bulk's events) go as JSON arrays of at most this many characters
 * (one envelope alone may be larger), well under every client's frame limit.
 */
export const ARRAY_FRAME_CHARS = 256 * 1024;

const encoder = new TextEncoder();

export abstract class LiveRoom extends DurableObject<Env> {
  private eventLog: EventLog | null = null;
  private readonly frames: RateCounter<WebSocket>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.frames = new RateCounter(parseRateLimit(env.SOCKET_RATE_LIMIT, DEFAULT_SOCKET_LIMIT));
    // Answered by the runtime itself: a keep-alive never wakes a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Creates (or opens) the room's stream and its tables. Subclasses call it when their own tables
   * are created — never first inside a transaction, which could roll the tables back under it.
   */
  protected openLog(seqsOf: ConstructorParameters<typeof EventLog>[1] = null): EventLog {
    return (this.eventLog ??= new EventLog(this.ctx.storage, seqsOf));
  }

  protected get log(): EventLog {
    if (!this.eventLog) throw new Error(`${this.roomName}: the stream is used before openLog()`);
    return this.eventLog;
  }

  /** The room's name in log lines. */
  protected abstract get roomName(): string;

  /** The payload of this room's SNAPSHOT. */
  protected abstract snapshotPayload(epoch: string): SnapshotPayload;

  /** Handles one parsed client frame. */
  protected abstract onFrame(ws: WebSocket, who: SocketIdentity, frame: unknown): Promise<void>;

  /**
   * Accepts an upgrade the Worker already authorised. The first frames are the snapshot, or the
   * events after `since` then REPLAY_DONE; everything after is live. Both are sent before this
   * returns, so no live event can slip between them.
   */
  protected openStream(request: Request, who: SocketIdentity): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [who.role]);
    server.serializeAttachment(who);

    const url = new URL(request.url);
    const since = url.searchParams.get("since");
    const epoch = url.searchParams.get("epoch");
    const missed =
      since !== null && /^\d+$/.test(since) && epoch === this.log.epoch ? this.log.after(Number(since)) : null;
    if (missed) {
      for (const frame of coalesce(missed)) server.send(frame);
      server.send(replayDoneFrame(this.log.seq, this.log.epoch, missed.length));
    } else {
      server.send(snapshotFrame(this.log.seq, this.snapshotPayload(this.log.epoch)));
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends one frame to every socket of the room; a dead socket never stops the others. */
  protected broadcast(frame: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // Closing or closed: webSocketClose cleans up.
      }
    }
  }

  /**
   * Sends stored envelopes to every socket: several go as JSON-array frames of bounded size (the
   * replay's), so a bulk of 100 is one frame per screen, and a bulk of 100 huge orders a few
   * hundred-KB frames rather than one of megabytes for a kitchen tablet on Wi-Fi.
   */
  protected broadcastEnvelopes(envelopes: string[]): void {
    if (envelopes.length === 1) this.broadcast(envelopes[0]!);
    else for (const frame of coalesce(envelopes)) this.broadcast(frame);
  }

  protected sendError(ws: WebSocket, error: ErrorBody, requestId?: string): void {
    trySend(ws, errorFrame(error, requestId));
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const bytes = typeof message === "string" ? encoder.encode(message).byteLength : message.byteLength;
    if (bytes > MAX_CLIENT_FRAME_BYTES) {
      ws.close(CLOSE_TOO_LARGE, "frame over 64 KiB");
      return;
    }
    const hits = this.frames.hit(ws, Date.now());
    if (hits > this.frames.limit * 2) {
      ws.close(CLOSE_POLICY, "rate limit exceeded");
      this.frames.forget(ws);
      return;
    }
    if (hits > this.frames.limit) {
      // Still a reply to one frame: name its requestId so the client knows which action was not
      // taken. Parsing costs at most `limit` frames more per window: the socket closes at twice.
      this.sendError(ws, { code: "RATE_LIMITED", message: "too many frames; slow down" }, requestIdOfText(message));
      return;
    }
    if (typeof message !== "string") {
      this.sendError(ws, { code: "BAD_REQUEST", message: "frames are JSON text" });
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(message);
    } catch {
      this.sendError(ws, { code: "BAD_REQUEST", message: "frame is not JSON" });
      return;
    }
    const poisoned = findPoisonedKey(frame);
    if (poisoned !== null) {
      this.sendError(
        ws,
        { code: "BAD_REQUEST", message: `frames may not contain the key "${poisoned}"` },
        requestIdOf(frame),
      );
      return;
    }
    const who = ws.deserializeAttachment() as SocketIdentity;
    try {
      await this.onFrame(ws, who, frame);
    } catch (err) {
      // A bug must cost one reply, never the room or the other sockets.
      log("error", "frame failed", { room: this.roomName, error: errorField(err), stack: stackField(err) });
      this.sendError(ws, { code: "INTERNAL", message: "internal error" }, requestIdOf(frame));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.frames.forget(ws);
    // Reciprocate so the client's close completes; 1005/1006 are reserved and cannot be sent.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.frames.forget(ws);
    log("warn", "socket error", { room: this.roomName, error: errorField(error) });
  }
}

export function trySend(ws: WebSocket, frame: string): void {
  try {
    ws.send(frame);
  } catch {
    // The socket went away; nothing to tell it.
  }
}

/** The requestId of a frame, if it has a usable one, so even refusals can be matched. */
export function requestIdOf(frame: unknown): string | undefined {
  if (typeof frame !== "object" || frame === null) return undefined;
  const id = (frame as { requestId?: unknown }).requestId;
  return typeof id === "string" && id.length > 0 && id.length <= 64 ? id : undefined;
}

/** The requestId of a raw frame, if it is JSON text with a usable one. */
function requestIdOfText(message: string | ArrayBuffer): string | undefined {
  if (typeof message !== "string") return undefined;
  try {
    return requestIdOf(JSON.parse(message));
  } catch {
    return undefined;
  }
}

/** Joins stored envelopes into JSON-array frames of bounded size. */
export function* coalesce(envelopes: string[]): Generator<string> {
  let batch: string[] = [];
  let size = 0;
  for (const e of envelopes) {
    if (batch.length > 0 && size + e.length > ARRAY_FRAME_CHARS) {
      yield `[${batch.join(",")}]`;
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += e.length + 1;
  }
  if (batch.length > 0) yield `[${batch.join(",")}]`;
}
