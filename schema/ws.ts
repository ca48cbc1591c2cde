/**
 * Socket frames of both rooms (CONTRACT.md "WebSockets"). Both the rooms and the dashboard
 * parse every frame with these schemas.
 */
import { z } from "zod";
import {
  ActorSchema,
  AvailabilitySchema,
  MerchantSchema,
  OrderIdSchema,
  OrderSchema,
  PrepMinutesSchema,
  SoldOutItemSchema,
} from "./order.ts";
import {
  AdjustItemsBodySchema,
  BulkItemResultSchema,
  BulkOrderIdsSchema,
  ReasonSchema,
  SetAvailabilityBodySchema,
  SetSoldOutBodySchema,
} from "./rest.ts";
import { ErrorBodySchema } from "./errors.ts";

/** Largest client frame a room reads; bigger ones are closed with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_POLICY = 1008;
/**
 * Additions (v2): the server closed the socket because its credential no longer holds (a paired
 * device was revoked). Reconnecting with the same credential is refused (401): sign in again.
 */
export const CLOSE_REVOKED = 4401;

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
  // Additions (v2): kitchen operations
  action("MERCHANT_SET_AVAILABILITY", SetAvailabilityBodySchema),
  action("MERCHANT_SET_SOLD_OUT", SetSoldOutBodySchema),
  action("MERCHANT_ADJUST_ITEMS", AdjustItemsBodySchema.extend({ orderId: OrderIdSchema })),
  action(
    "MERCHANT_ITEM_DONE",
    z.object({ orderId: OrderIdSchema, index: z.number().int().min(0).max(99), done: z.boolean() }),
  ),
  action("MERCHANT_RECALL", z.object({ orderId: OrderIdSchema })),
]);
export type MerchantAction = z.infer<typeof MerchantActionSchema>;
export type MerchantActionName = MerchantAction["action"];
export const MERCHANT_ACTION_NAMES = MerchantActionSchema.options.map((o) => o.shape.action.value);

/** Every stream event that is a committed change of one order (it carries `payload.order`). */
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
  // Additions (v2)
  "ORDER_ADJUSTED",
  "ITEM_DONE",
  "MERCHANT_RECALLED",
  "ORDER_FIRED",
]);
export type StreamEventName = z.infer<typeof StreamEventNameSchema>;

/** Stream events about the merchant rather than one order (Additions v2): no `payload.order`. */
export const MerchantEventNameSchema = z.enum(["MERCHANT_AVAILABILITY_CHANGED", "SOLD_OUT_CHANGED"]);
export type MerchantEventName = z.infer<typeof MerchantEventNameSchema>;

/** The merchant-made changes, named on the order room's payload. */
export const MerchantActionKindSchema = z.enum([
  "ACCEPT",
  "REJECT",
  "MARK_PREPARING",
  "MARK_READY",
  "UPDATE_PREP_TIME",
  // Additions (v2)
  "ADJUST_ITEMS",
  "RECALL",
  "ITEM_DONE",
]);
export type MerchantActionKind = z.infer<typeof MerchantActionKindSchema>;

const envelopeBase = {
  at: z.string(),
  requestId: z.string().optional(),
};

// ---- MerchantOrderRoom ----

export const MerchantStreamPayloadSchema = z.object({ order: OrderSchema, actor: ActorSchema });
/** A stream event of one order's change. */
export const MerchantOrderEnvelopeSchema = z.object({
  event: StreamEventNameSchema,
  seq: z.number().int().min(1),
  ...envelopeBase,
  payload: MerchantStreamPayloadSchema,
});
export type MerchantOrderEnvelope = z.infer<typeof MerchantOrderEnvelopeSchema>;
export type MerchantStreamPayload = z.infer<typeof MerchantStreamPayloadSchema>;

export const AvailabilityChangedEnvelopeSchema = z.object({
  event: z.literal("MERCHANT_AVAILABILITY_CHANGED"),
  seq: z.number().int().min(1),
  ...envelopeBase,
  payload: z.object({ availability: AvailabilitySchema, actor: ActorSchema }),
});
export const SoldOutChangedEnvelopeSchema = z.object({
  event: z.literal("SOLD_OUT_CHANGED"),
  seq: z.number().int().min(1),
  ...envelopeBase,
  payload: z.object({ items: z.array(SoldOutItemSchema), actor: ActorSchema }),
});
export type MerchantEventEnvelope =
  | z.infer<typeof AvailabilityChangedEnvelopeSchema>
  | z.infer<typeof SoldOutChangedEnvelopeSchema>;

/** Every stream event of the merchant room: an order's change or the merchant's own. */
export const MerchantStreamEnvelopeSchema = z.union([
  MerchantOrderEnvelopeSchema,
  AvailabilityChangedEnvelopeSchema,
  SoldOutChangedEnvelopeSchema,
]);
export type MerchantStreamEnvelope = z.infer<typeof MerchantStreamEnvelopeSchema>;

/**
 * Whether customers' live views are current (an addition): the relays to order rooms are backed
 * up when changes wait longer than a few seconds. Sent when that flips, and in SNAPSHOT; not a
 * stream event (no seq), so it is never replayed.
 */
export const DeliveryStatusSchema = z.object({
  customersBehind: z.boolean(),
  pending: z.number().int().min(0),
  oldestPendingAgeMs: z.number().min(0),
});
export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;
export const MerchantSnapshotEnvelopeSchema = z.object({
  event: z.literal("SNAPSHOT"),
  seq: z.number().int().min(0),
  ...envelopeBase,
  // `merchant` is an addition to the contract: the screen shows which kitchen it is on.
  payload: z.object({
    epoch: z.string(),
    orders: z.array(OrderSchema),
    merchant: MerchantSchema.optional(),
    // Additions: whether customers' live views are current (see DELIVERY_STATUS).
    delivery: DeliveryStatusSchema.optional(),
  }),
});
export type MerchantSnapshotEnvelope = z.infer<typeof MerchantSnapshotEnvelopeSchema>;

export const ReplayDoneEnvelopeSchema = z.object({
  event: z.literal("REPLAY_DONE"),
  seq: z.number().int().min(0),
  ...envelopeBase,
  payload: z.object({ epoch: z.string(), replayed: z.number().int().min(0) }),
});
export type ReplayDoneEnvelope = z.infer<typeof ReplayDoneEnvelopeSchema>;

/** The reply to an action: the order it changed, or (Additions v2) what the merchant's setting now is. */
export const AckEnvelopeSchema = z.object({
  event: z.literal("ACK"),
  ...envelopeBase,
  payload: z.union([
    z.object({ order: OrderSchema }),
    z.object({ availability: AvailabilitySchema }),
    z.object({ items: z.array(SoldOutItemSchema) }),
  ]),
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

/** DELIVERY_STATUS: sent when customers' views fall behind or catch up (no seq; never replayed). */
export const DeliveryStatusEnvelopeSchema = z.object({
  event: z.literal("DELIVERY_STATUS"),
  ...envelopeBase,
  payload: DeliveryStatusSchema,
});
export type DeliveryStatusEnvelope = z.infer<typeof DeliveryStatusEnvelopeSchema>;

/** Anything the MerchantOrderRoom sends in one envelope. */
export const MerchantServerEnvelopeSchema = z.union([
  MerchantStreamEnvelopeSchema,
  MerchantSnapshotEnvelopeSchema,
  ReplayDoneEnvelopeSchema,
  AckEnvelopeSchema,
  BulkResultEnvelopeSchema,
  ErrorEnvelopeSchema,
  DeliveryStatusEnvelopeSchema,
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
