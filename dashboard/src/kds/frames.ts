/**
 * The room's frames, parsed with the contract's schema, on their way to the board: a reply goes
 * to the request tracker; everything else (SNAPSHOT, REPLAY_DONE, stream events — the orders'
 * and the kitchen's own) to the pure board reducer, which says whether the screen is now current.
 * A stream event this screen does not know only advances its seq.
 */
import {
  MerchantEventNameSchema,
  type MerchantServerEnvelope,
  MerchantServerEnvelopeSchema,
  StreamEventNameSchema,
} from "../../../schema/index.ts";
import { unknownStreamEvent } from "../stream.ts";
import {
  applyDeliveryStatus,
  applyReplayDone,
  applySnapshot,
  applyStreamEvent,
  type BoardState,
  type BoardUpdate,
} from "./board.ts";
import { isReply, type Reply } from "./requests.ts";

export type RoomEvent = Exclude<MerchantServerEnvelope, Reply> | { event: string; seq: number; unknown: true };
export type RoomFrame = { reply: Reply } | { event: RoomEvent };

/** Every name the merchant room's frames may carry today. */
const KNOWN = new Set<string>([
  ...StreamEventNameSchema.options,
  ...MerchantEventNameSchema.options,
  "SNAPSHOT",
  "REPLAY_DONE",
  "ACK",
  "BULK_RESULT",
  "ERROR",
  "DELIVERY_STATUS",
]);

/** null: not a frame of the contract (ignored, with a warning). */
export function parseFrame(raw: unknown): RoomFrame | null {
  const parsed = MerchantServerEnvelopeSchema.safeParse(raw);
  if (parsed.success) return isReply(parsed.data) ? { reply: parsed.data } : { event: parsed.data };
  const unknown = unknownStreamEvent(raw, KNOWN);
  if (unknown) return { event: { ...unknown, unknown: true } };
  console.warn("[ticket-rail] ignoring a frame that does not match the contract", parsed.error.issues);
  return null;
}

/** `synced`: the board is current — a SNAPSHOT, or a REPLAY_DONE that lines up with it. */
export function applyRoomEvent(board: BoardState, env: RoomEvent, now: number): BoardUpdate & { synced: boolean } {
  if ("unknown" in env) return { ...applyStreamEvent(board, { seq: env.seq, event: env.event }, now), synced: false };
  if (env.event === "SNAPSHOT") {
    const { epoch, orders, merchant, delivery } = env.payload;
    const snapshot = {
      seq: env.seq,
      epoch,
      orders,
      ...(merchant ? { merchant } : {}),
      ...(delivery ? { delivery } : {}),
    };
    return {
      ...applySnapshot(board, snapshot, now),
      synced: true,
    };
  }
  if (env.event === "DELIVERY_STATUS") return { ...applyDeliveryStatus(board, env.payload), synced: false };
  if (env.event === "REPLAY_DONE") {
    const update = applyReplayDone(board, { seq: env.seq, epoch: env.payload.epoch });
    return { ...update, synced: update.effects.length === 0 };
  }
  const p = env.payload;
  const input = {
    seq: env.seq,
    event: env.event,
    actor: p.actor,
    ...("order" in p ? { order: p.order } : {}),
    ...("availability" in p ? { availability: p.availability } : {}),
    ...("items" in p ? { soldOut: p.items } : {}),
  };
  return { ...applyStreamEvent(board, input, now), synced: false };
}
