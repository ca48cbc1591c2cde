/**
 * Socket frames of both rooms (CONTRACT.md "WebSockets"). Both the rooms and the dashboard
 * parse every frame with these schemas.
 */
import { z } from "zod";
import { ActorSchema, MerchantSchema, OrderIdSchema, OrderSchema, PrepMinutesSchema } from "./order.ts";
import { ReasonSchema, BulkOrderIdsSchema, BulkItemResultSchema } from "./rest.ts";
import { ErrorBodySchema } from "./errors.ts";

/** Largest client frame a room reads; bigger ones are closed with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_POLICY = 1008;

export const RequestIdSchema = z.string().min(1).max(64);

const action = <A extends string, P extends z.ZodType>(name: A, payload: P) =>
  z.object({ action: z.literal(name), requestId: RequestIdSchema, payload });

/** Client → MerchantOrderRoom. */
export const MerchantActionSchema = z.discriminatedUnion("action", [
  action("MERCHANT_ACCEPT", z.object({ orderId: OrderIdSchema, prepMinutes: PrepMinutesSchema.optional() })),
  action("MERCHANT_REJECT", z.object({ orderId: OrderIdSchema, reason: ReasonSchema })),
  action("MERCHANT_MARK_PREPARING", z.object({ orderId: OrderIdSchema })),
  action("MERCHANT_MARK_READY", z.object({ orderId: OrderIdSchema })),
  action("MERCHANT_UPDATE_PREP_TIME", z.object({ orderId: OrderIdSchema, prepMinutes: PrepMinutesSchema })),
  action("BULK_ACCEPT", z.object({ orderIds: BulkOrderIdsSchema, prepMinutes: PrepMinutesSchema.optional() })),
  action("BULK_MARK_READY", z.object({ orderIds: BulkOrderIdsSchema })),
]);
export type MerchantAction = z.infer<typeof MerchantActionSchema>;
export type MerchantActionName = MerchantAction["action"];
export const MERCHANT_ACTION_NAMES = MerchantActionSchema.options.map((o) => o.shape.action.value);

/** Every stream event a room can emit; each is one committed change of one order. */
export const StreamEventNameSchema = z.enum([
  "ORDER_CREATED",
  "MERCHANT_ACCEPTED",
  "MERCHANT_REJECTED",
  "MERCHANT_PREPARING",
  "MERCHANT_READY",
  "PREP_TIME_UPDATED",
  "ORDER_CANCELLED",
  "ORDER_EXPIRED",
  "DRIVER_ASSIGNED",
  "DRIVER_ARRIVED",
  "ORDER_PICKED_UP",
  "ORDER_DELIVERED",
]);
export type StreamEventName = z.infer<typeof StreamEventNameSchema>;

/** The merchant-made changes, named on the order room's payload. */
export const MerchantActionKindSchema = z.enum([
  "ACCEPT",
  "REJECT",
  "MARK_PREPARING",
  "MARK_READY",
  "UPDATE_PREP_TIME",
]);
export type MerchantActionKind = z.infer<typeof MerchantActionKindSchema>;

const envelopeBase = {
  at: z.string(),
  requestId: z.string().optional(),
};

// ---- MerchantOrderRoom ----

export const MerchantStreamPayloadSchema = z.object({ order: OrderSchema, actor: ActorSchema });
export const MerchantStreamEnvelopeSchema = z.object({
  event: StreamEventNameSchema,
  seq: z.number().int().min(1),
  ...envelopeBase,
  payload: MerchantStreamPayloadSchema,
});
export type MerchantStreamEnvelope = z.infer<typeof MerchantStreamEnvelopeSchema>;
export type MerchantStreamPayload = z.infer<typeof MerchantStreamPayloadSchema>;

export const MerchantSnapshotEnvelopeSchema = z.object({
  event: z.literal("SNAPSHOT"),
  seq: z.number().int().min(0),
  ...envelopeBase,
  // `merchant` is an addition to the contract: the screen shows which kitchen it is on.
  payload: z.object({ epoch: z.string(), orders: z.array(OrderSchema), merchant: MerchantSchema.optional() }),
});
export type MerchantSnapshotEnvelope = z.infer<typeof MerchantSnapshotEnvelopeSchema>;

export const ReplayDoneEnvelopeSchema = z.object({
  event: z.literal("REPLAY_DONE"),
  seq: z.number().int().min(0),
  ...envelopeBase,
  payload: z.object({ epoch: z.string(), replayed: z.number().int().min(0) }),
});
export type ReplayDoneEnvelope = z.infer<typeof ReplayDoneEnvelopeSchema>;

export const AckEnvelopeSchema = z.object({
  event: z.literal("ACK"),
  ...envelopeBase,
  payload: z.object({ order: OrderSchema }),
});
export const BulkResultEnvelopeSchema = z.object({
  event: z.literal("BULK_RESULT"),
  ...envelopeBase,
  payload: z.object({ results: z.array(BulkItemResultSchema) }),
});
export const ErrorEnvelopeSchema = z.object({ event: z.literal("ERROR"), ...envelopeBase, payload: ErrorBodySchema });
export type AckEnvelope = z.infer<typeof AckEnvelopeSchema>;
export type BulkResultEnvelope = z.infer<typeof BulkResultEnvelopeSchema>;
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** Anything the MerchantOrderRoom sends in one envelope. */
export const MerchantServerEnvelopeSchema = z.union([
  MerchantStreamEnvelopeSchema,
  MerchantSnapshotEnvelopeSchema,
  ReplayDoneEnvelopeSchema,
  AckEnvelopeSchema,
  BulkResultEnvelopeSchema,
  ErrorEnvelopeSchema,
]);
export type MerchantServerEnvelope = z.infer<typeof MerchantServerEnvelopeSchema>;

// ---- OrderRoom (the seed system's names) ----

export const OrderEnvelopeEventSchema = StreamEventNameSchema;
/** Order-room clients only listen; no actions are defined for them yet (the enum is empty). */
export const OrderEnvelopeActionSchema = z.never();

export const OrderEnvelopePayloadSchema = z.object({
  order: OrderSchema,
  merchantAction: MerchantActionKindSchema.optional(),
});
export type OrderEnvelopePayload = z.infer<typeof OrderEnvelopePayloadSchema>;

export const OrderStreamEnvelopeSchema = z.object({
  event: OrderEnvelopeEventSchema,
  seq: z.number().int().min(1),
  ...envelopeBase,
  payload: OrderEnvelopePayloadSchema,
});
export type OrderStreamEnvelope = z.infer<typeof OrderStreamEnvelopeSchema>;

export const OrderSnapshotEnvelopeSchema = z.object({
  event: z.literal("SNAPSHOT"),
  seq: z.number().int().min(0),
  ...envelopeBase,
  /** null only while the order's first relay has not reached its room yet. */
  payload: z.object({ epoch: z.string(), order: OrderSchema.nullable() }),
});
export type OrderSnapshotEnvelope = z.infer<typeof OrderSnapshotEnvelopeSchema>;

export const OrderServerEnvelopeSchema = z.union([
  OrderStreamEnvelopeSchema,
  OrderSnapshotEnvelopeSchema,
  ReplayDoneEnvelopeSchema,
  ErrorEnvelopeSchema,
]);
export type OrderServerEnvelope = z.infer<typeof OrderServerEnvelopeSchema>;

/** Any envelope either room sends. */
export type ServerEnvelope = MerchantServerEnvelope | OrderServerEnvelope;
/** A stream event of either room: what an EventLog stores and replays. */
export type StreamEnvelope = MerchantStreamEnvelope | OrderStreamEnvelope;

/** A server frame is one envelope or a JSON array of them (coalesced). */
export function envelopesOf(frame: unknown): unknown[] {
  return Array.isArray(frame) ? frame : [frame];
}
