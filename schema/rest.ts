import { z } from "zod";
import {
  ActorSchema,
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
});
export type UpsertMerchantBody = z.infer<typeof UpsertMerchantBodySchema>;

export const PlaceOrderBodySchema = z.object({
  merchantId: IdSchema,
  items: z.array(OrderItemSchema).min(1).max(100),
  notes: TextSchema(500).optional(),
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

/** The claims a token must carry. */
export const TokenClaimsSchema = z
  .object({
    role: RoleSchema,
    sub: IdSchema,
    merchantId: IdSchema.optional(),
    exp: z.number(),
  })
  .refine((c) => c.role !== "merchant" || c.merchantId !== undefined, "a merchant token needs merchantId");
export type TokenClaims = z.infer<typeof TokenClaimsSchema>;

/** `GET /api/health`. `dev` (an addition) says whether local-development helpers are on. */
export const HealthResponseSchema = z.object({ ok: z.literal(true), dev: z.boolean().optional() });
