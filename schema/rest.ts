import { z } from "zod";
import {
  ActorSchema,
  AutoPauseSchema,
  AvailabilityModeSchema,
  AvailabilitySchema,
  FulfilmentSchema,
  IsoTimeSchema,
  LocationHintSchema,
  MerchantSchema,
  SoldOutItemSchema,
  StationSchema,
  TimeZoneSchema,
  IdSchema,
  OrderIdSchema,
  OrderItemSchema,
  OrderSchema,
  PrepMinutesSchema,
  RoleSchema,
  TextSchema,
} from "./order.ts";
import { ErrorBodySchema } from "./errors.ts";

export const UpsertMerchantBodySchema = z.object({
  name: TextSchema(200),
  acceptWindowSeconds: z.number().int().min(60).max(3600).optional(),
  defaultPrepMinutes: PrepMinutesSchema.optional(),
  // Additions (v2)
  stations: z
    .array(StationSchema)
    .max(20)
    .refine((s) => new Set(s.map((x) => x.id)).size === s.length, "station ids must be unique")
    .optional(),
  allergens: z.array(TextSchema(40)).max(50).optional(),
  timeZone: TimeZoneSchema.optional(),
  locationHint: LocationHintSchema.optional(),
  autoPause: AutoPauseSchema.optional(),
});
export type UpsertMerchantBody = z.infer<typeof UpsertMerchantBodySchema>;

export const PlaceOrderBodySchema = z.object({
  merchantId: IdSchema,
  items: z.array(OrderItemSchema).min(1).max(100),
  notes: TextSchema(500).optional(),
  // Additions (v2): any placer may send these…
  customerName: TextSchema(100).optional(),
  fulfilment: FulfilmentSchema.optional(),
  paid: z.boolean().optional(),
  /** A scheduled order: at least 15 min and at most 7 days ahead (checked against the room's clock). */
  requestedFor: IsoTimeSchema.optional(),
  // …and only a platform these (it places on behalf of a customer, with its own id for the order).
  customerId: IdSchema.optional(),
  externalId: z.string().min(1).max(128).optional(),
});
export type PlaceOrderBody = z.infer<typeof PlaceOrderBodySchema>;

export const ReasonSchema = TextSchema(500);
export const CancelBodySchema = z.object({ reason: ReasonSchema });
export const RejectBodySchema = z.object({ reason: ReasonSchema });
export const AcceptBodySchema = z.object({ prepMinutes: PrepMinutesSchema.optional() });
export const PrepTimeBodySchema = z.object({ prepMinutes: PrepMinutesSchema });
export const AssignDriverBodySchema = z.object({
  driverId: IdSchema,
  name: TextSchema(100),
  etaMinutes: z.number().int().min(0).max(600).optional(),
});
export type AssignDriverBody = z.infer<typeof AssignDriverBodySchema>;
export const EmptyBodySchema = z.object({});

/** 1..100 distinct order ids: a bulk is one kitchen gesture, not a batch import. */
export const BulkOrderIdsSchema = z
  .array(OrderIdSchema)
  .min(1)
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, "orderIds must be unique");

export const BulkBodySchema = z.object({
  action: z.enum(["accept", "ready"]),
  orderIds: BulkOrderIdsSchema,
  prepMinutes: PrepMinutesSchema.optional(),
});
export type BulkBody = z.infer<typeof BulkBodySchema>;

export const BulkItemResultSchema = z.union([
  z.object({ orderId: z.string(), ok: z.literal(true), order: OrderSchema }),
  z.object({ orderId: z.string(), ok: z.literal(false), error: ErrorBodySchema }),
]);
export type BulkItemResult = z.infer<typeof BulkItemResultSchema>;
export const BulkResponseSchema = z.object({ results: z.array(BulkItemResultSchema) });

export const ListOrdersQuerySchema = z.object({
  status: z.enum(["active", "all"]).default("active"),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const ListOrdersResponseSchema = z.object({
  orders: z.array(OrderSchema),
  seq: z.number().int().min(0),
  nextCursor: z.string().optional(),
});

export const ViaSchema = z.enum(["rest", "socket", "system"]);
export type Via = z.infer<typeof ViaSchema>;

/** One entry of an order's audit trail (`GET /api/orders/:orderId/events`). */
export const AuditEntrySchema = z.object({
  event: z.string(),
  at: z.string(),
  actor: ActorSchema,
  via: ViaSchema,
  requestId: z.string().optional(),
  order: OrderSchema,
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
export const AuditTrailResponseSchema = z.object({ events: z.array(AuditEntrySchema) });

export const IdempotencyKeySchema = z.string().min(1).max(255);

export const DevTokenBodySchema = z
  .object({ role: RoleSchema, sub: IdSchema, merchantId: IdSchema.optional() })
  .refine((b) => b.role !== "merchant" || b.merchantId !== undefined, {
    message: "a merchant token needs merchantId",
    path: ["merchantId"],
  });
export type DevTokenBody = z.infer<typeof DevTokenBodySchema>;

/**
 * Dev mode only (`POST /api/dev/faults`, used by `npm run chaos`): make one merchant room's relays
 * to order rooms and/or D1 fail for a while; `afterDelivery` loses the acknowledgement instead.
 */
export const DevFaultsBodySchema = z.object({
  merchantId: IdSchema,
  failOrderRoomRelaysForMs: z.number().int().min(0).max(600_000).optional(),
  failProjectionForMs: z.number().int().min(0).max(600_000).optional(),
  afterDelivery: z.boolean().optional(),
});
export type DevFaultsBody = z.infer<typeof DevFaultsBodySchema>;

/**
 * Dev mode only (`POST /api/dev/deliver`, used by `npm run bench`): deliver everything a merchant
 * room holds back now, relays that wait for a quiet order included (a scenario is not charged for
 * the previous one's deferred work).
 */
export const DevDeliverBodySchema = z.object({ merchantId: IdSchema });
export type DevDeliverBody = z.infer<typeof DevDeliverBodySchema>;

/** The claims a token must carry. */
export const TokenClaimsSchema = z
  .object({
    role: RoleSchema,
    sub: IdSchema,
    merchantId: IdSchema.optional(),
    exp: z.number(),
    /** Additions (v2): set on a paired device's token (`sub` = the device id); checked against revocation. */
    device: z.literal(true).optional(),
  })
  .refine((c) => c.role !== "merchant" || c.merchantId !== undefined, "a merchant token needs merchantId");
export type TokenClaims = z.infer<typeof TokenClaimsSchema>;

// ---- Additions (v2): kitchen operations

export const SetAvailabilityBodySchema = z
  .object({
    mode: AvailabilityModeSchema,
    until: IsoTimeSchema.optional(),
    extraPrepMinutes: z.number().int().min(1).max(120).optional(),
    reason: TextSchema(200).optional(),
  })
  .refine((b) => b.mode === "BUSY" || b.extraPrepMinutes === undefined, {
    message: "extraPrepMinutes is for BUSY",
    path: ["extraPrepMinutes"],
  })
  .refine((b) => b.mode !== "OPEN" || b.until === undefined, { message: "OPEN has no end", path: ["until"] });
export type SetAvailabilityBody = z.infer<typeof SetAvailabilityBodySchema>;
export const AvailabilityResponseSchema = z.object({ availability: AvailabilitySchema });

export const SetSoldOutBodySchema = z.object({
  items: z
    .array(z.object({ name: TextSchema(200), until: IsoTimeSchema.optional() }))
    .max(200)
    .refine(
      (items) => new Set(items.map((i) => i.name.toLowerCase())).size === items.length,
      "item names must be unique (compared case-insensitively)",
    ),
});
export type SetSoldOutBody = z.infer<typeof SetSoldOutBodySchema>;
export const SoldOutResponseSchema = z.object({ items: z.array(SoldOutItemSchema) });

export const AdjustItemsBodySchema = z.object({
  changes: z
    .array(z.object({ index: z.number().int().min(0).max(99), quantity: z.number().int().min(0).max(98) }))
    .min(1)
    .max(100)
    .refine((c) => new Set(c.map((x) => x.index)).size === c.length, "each item once"),
  reason: ReasonSchema,
});
export type AdjustItemsBody = z.infer<typeof AdjustItemsBodySchema>;
export const ItemDoneBodySchema = z.object({ done: z.boolean() });

/** `GET /api/merchants/:merchantId` and the merchant in SNAPSHOT. */
export const MerchantResponseSchema = MerchantSchema;

// ---- Additions (v2): sign-in and devices

export const PairingCodeResponseSchema = z.object({ code: z.string(), expiresAt: IsoTimeSchema });
export const PairBodySchema = z.object({
  code: z
    .string()
    .trim()
    .min(4)
    .max(32)
    .transform((c) => c.toUpperCase().replace(/[\s-]/g, "")),
  deviceName: TextSchema(60),
});
export const DeviceSchema = z.object({
  id: IdSchema,
  merchantId: IdSchema,
  name: z.string(),
});
export const PairResponseSchema = z.object({ token: z.string(), refreshToken: z.string(), device: DeviceSchema });
export const RefreshBodySchema = z.object({ refreshToken: z.string().min(1).max(512) });
export const RefreshResponseSchema = z.object({ token: z.string(), refreshToken: z.string() });
/** One paired device as the merchant's list shows it. */
export const DeviceEntrySchema = z.object({
  id: IdSchema,
  name: z.string(),
  pairedAt: IsoTimeSchema,
  lastSeenAt: IsoTimeSchema.optional(),
  revokedAt: IsoTimeSchema.optional(),
});
export type DeviceEntry = z.infer<typeof DeviceEntrySchema>;
export const DeviceListResponseSchema = z.object({ devices: z.array(DeviceEntrySchema) });
/** `DELETE /api/merchants/:merchantId/devices/:deviceId` (an addition: the contract names no body). */
export const RevokeDeviceResponseSchema = z.object({ device: DeviceEntrySchema });

// ---- Additions: history across merchants (D1)

/** A lean line of history: what D1 keeps of an order (the merchant room keeps the whole order). */
export const OrderSummarySchema = z.object({
  id: OrderIdSchema,
  merchantId: IdSchema,
  status: z.string(),
  totalCents: z.number().int(),
  itemCount: z.number().int(),
  placedAt: z.string(),
  updatedAt: z.string(),
});
export type OrderSummary = z.infer<typeof OrderSummarySchema>;
export const CustomerOrdersQuerySchema = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const CustomerOrdersResponseSchema = z.object({
  orders: z.array(OrderSummarySchema),
  nextCursor: z.string().optional(),
});

// ---- Additions (v2): operations

export const ReceiverStatusSchema = z.object({
  pending: z.number().int().min(0),
  oldestPendingAgeMs: z.number().min(0),
  lastError: z.string().optional(),
  lastErrorAt: IsoTimeSchema.optional(),
  /** A receiver giving up on changes (a webhook endpoint failing for over 24 h). */
  failingSince: IsoTimeSchema.optional(),
});
export const MerchantOpsResponseSchema = z.object({
  screens: z.number().int().min(0),
  sockets: z.number().int().min(0),
  outbox: z.record(z.string(), ReceiverStatusSchema),
  parked: z.array(
    z.object({
      receiver: z.string(),
      seq: z.number().int(),
      orderId: z.string().optional(),
      error: z.string(),
      at: IsoTimeSchema,
    }),
  ),
  alarmAt: IsoTimeSchema.nullable(),
});
export type MerchantOpsResponse = z.infer<typeof MerchantOpsResponseSchema>;

/** `GET /api/health`. `dev` (an addition) says whether local-development helpers are on. */
export const HealthResponseSchema = z.object({ ok: z.literal(true), dev: z.boolean().optional() });
