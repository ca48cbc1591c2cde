/**
 * What every frame a socket receives must be (CONTRACT.md "Frames"): each envelope parses with
 * the schema/ws.ts schemas, replies carry no seq, no payload carries a seq, and a socket's stream
 * events are numbered without gaps from where its SNAPSHOT / since left off.
 */
import { expect } from "vitest";
import type { z } from "zod";
import { IsoTimeSchema, MerchantServerEnvelopeSchema, OrderServerEnvelopeSchema } from "../../../schema/index.ts";
import type { TestSocket } from "./sockets.ts";

/** Replies to one socket's request (no seq). */
export const REPLIES = new Set(["ACK", "BULK_RESULT", "ERROR"]);
/** Notices to every screen that are not stream events (no seq, never replayed). */
const NOTICES = new Set(["DELIVERY_STATUS"]);
/** Where a socket's stream stands (the room's seq). */
const POSITIONS = new Set(["SNAPSHOT", "REPLAY_DONE"]);
/** The envelope's fields; anything else is a protocol leak. */
const ENVELOPE_KEYS = new Set(["event", "seq", "requestId", "at", "payload"]);

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
      if (NOTICES.has(e.event)) {
        expect(e.seq, `a notice carries no seq (${e.event})`).toBeUndefined();
        expect(room, `${e.event} comes only from the merchant room`).toBe("merchant");
        out.push(e);
        continue;
      }
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
