/**
 * A client socket with a mailbox: every envelope is kept with its receive time until someone takes
 * it, so a wait set up after the frame arrived still gets it (and its true receive time).
 */
import type { WebSocket } from "ws";
import { type Envelope, envelopesOf, now, onceOpen, openSocket } from "../lib/common.ts";

export type Received = { e: Envelope; t: number };
type Waiter = { pred: (e: Envelope) => boolean; resolve: (r: Received) => void; timer: NodeJS.Timeout };

export interface Mailbox {
  ws: WebSocket;
  /** Envelopes received and not taken yet, oldest first. */
  box: Received[];
  /** With `keepAll`: every stream event received, by seq, as JSON (for exact comparisons). */
  all: Map<number, string> | null;
  frames: number;
  closed: boolean;
  opened: Promise<void>;
  /** The first envelope (already received or still to come) matching `pred`, with its receive time. */
  next(pred: (e: Envelope) => boolean, timeoutMs?: number, what?: string): Promise<Received>;
  /** Forgets what nobody waited for. */
  clear(): void;
  /** Sends one action frame. */
  send(frame: { action: string; requestId: string; payload: unknown }): void;
}

export function mailboxSocket(url: string, { keepAll = false } = {}): Mailbox {
  const ws = openSocket(url);
  const box: Received[] = [];
  const waiters: Waiter[] = [];
  const deliver = (item: Received) => {
    const i = waiters.findIndex((w) => w.pred(item.e));
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(item);
      return;
    }
    box.push(item);
    if (box.length > 20_000) box.splice(0, 10_000); // nobody waits for these any more
  };
  const state: Mailbox = {
    ws,
    box,
    all: keepAll ? new Map() : null,
    frames: 0,
    closed: false,
    opened: onceOpen(ws),
    next: (pred, timeoutMs = 10_000, what = "a frame") =>
      new Promise((resolve, reject) => {
        const i = box.findIndex((item) => pred(item.e));
        if (i >= 0) return resolve(box.splice(i, 1)[0]!);
        const w: Waiter = {
          pred,
          resolve,
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            const where = url.replace(/token=[^&]+/, "token=…");
            reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${where}`));
          }, timeoutMs),
        };
        waiters.push(w);
      }),
    clear: () => void box.splice(0),
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
  ws.on("message", (data) => {
    const t = now();
    state.frames++;
    const text = data.toString();
    if (text === "pong") return deliver({ e: { event: "pong" }, t });
    for (const e of envelopesOf(text)) {
      if (state.all && typeof e.seq === "number" && e.event !== "SNAPSHOT" && e.event !== "REPLAY_DONE")
        state.all.set(e.seq, JSON.stringify(e));
      deliver({ e, t });
    }
  });
  ws.on("close", () => {
    state.closed = true;
  });
  return state;
}

export async function openMailbox(url: string, opts?: { keepAll?: boolean }): Promise<Mailbox> {
  const s = mailboxSocket(url, opts);
  await s.opened;
  return s;
}

/** Opens a socket and waits for its first SNAPSHOT (a screen or a tracking page is then ready). */
export async function openWithSnapshot(url: string, opts?: { keepAll?: boolean }): Promise<Mailbox> {
  const s = await openMailbox(url, opts);
  await s.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
  return s;
}

/** The reply (ACK / BULK_RESULT / ERROR) to `requestId`, still to come. */
export const replyTo = (s: Mailbox, requestId: string, timeoutMs: number, what = "the reply") =>
  s.next((e) => e.requestId === requestId && ["ACK", "BULK_RESULT", "ERROR"].includes(e.event), timeoutMs, what);
