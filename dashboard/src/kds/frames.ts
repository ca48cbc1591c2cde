/**
 * The room's frames, parsed with the contract's schema, on their way to the board: a reply goes
 * to the request tracker; everything else (SNAPSHOT, REPLAY_DONE, stream events) to the pure
 * board reducer, which says whether the screen is now current.
 */
import { type MerchantServerEnvelope, MerchantServerEnvelopeSchema } from "../../../schema/index.ts";
import { applyReplayDone, applySnapshot, applyStreamEvent, type BoardState, type BoardUpdate } from "./board.ts";
import { isReply, type Reply } from "./requests.ts";

export type RoomFrame = { reply: Reply } | { event: Exclude<MerchantServerEnvelope, Reply> };

/** null: not a frame of the contract (ignored, with a warning). */
export function parseFrame(raw: unknown): RoomFrame | null {
  const parsed = MerchantServerEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    console.warn("[ticket-rail] ignoring a frame that does not match the contract", parsed.error.issues);
    return null;
  }
  return isReply(parsed.data) ? { reply: parsed.data } : { event: parsed.data };
}

/** `synced`: the board is current — a SNAPSHOT, or a REPLAY_DONE that lines up with it. */
export function applyRoomEvent(
  board: BoardState,
  env: Exclude<MerchantServerEnvelope, Reply>,
  now: number,
): BoardUpdate & { synced: boolean } {
  if (env.event === "SNAPSHOT") {
    const snapshot = { seq: env.seq, epoch: env.payload.epoch, orders: env.payload.orders };
    return { ...applySnapshot(board, snapshot, now), synced: true };
  }
  if (env.event === "DELIVERY_STATUS") return { state: board, effects: [], synced: false };
  if (env.event === "REPLAY_DONE") {
    const update = applyReplayDone(board, { seq: env.seq, epoch: env.payload.epoch });
    return { ...update, synced: update.effects.length === 0 };
  }
  return {
    ...applyStreamEvent(
      board,
      { seq: env.seq, event: env.event, ...("order" in env.payload ? { order: env.payload.order } : {}) },
      now,
    ),
    synced: false,
  };
}
