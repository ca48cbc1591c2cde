import { z } from "zod";

/** Every status an order can be in (CONTRACT.md "Order"). */
export const OrderStatusSchema = z.enum([
  "PLACED",
  "ACCEPTED",
  "PREPARING",
  "READY",
  "PICKED_UP",
  "DELIVERED",
  "REJECTED",
  "CANCELLED",
  "EXPIRED",
]);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/** The statuses on a kitchen's live board (`status=active`). */
export const ACTIVE_STATUSES = ["PLACED", "ACCEPTED", "PREPARING", "READY"] as const satisfies readonly OrderStatus[];
export const FINAL_STATUSES = [
  "DELIVERED",
  "REJECTED",
  "CANCELLED",
  "EXPIRED",
] as const satisfies readonly OrderStatus[];

export function isActiveStatus(status: OrderStatus): boolean {
  return (ACTIVE_STATUSES as readonly OrderStatus[]).includes(status);
}

/** Roles a token can carry. */
export const RoleSchema = z.enum(["customer", "merchant", "driver", "dispatch"]);
export type Role = z.infer<typeof RoleSchema>;

/** Who made a change. `system` is the room itself (the acceptance deadline). */
export const ActorSchema = z.object({
  role: z.enum(["customer", "merchant", "driver", "dispatch", "system"]),
  id: z.string(),
});
export type Actor = z.infer<typeof ActorSchema>;

/** Ids of merchants, customers, drivers: printable, URL-safe, short. */
export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "only letters, digits, '_' and '-'");

/**
 * Order ids are `<merchantId>.<random>`: the Worker routes any order operation to its
 * merchant's room (the single writer) without a lookup that could lag behind a fresh order.
 */
export const OrderIdSchema = z
  .string()
  .min(3)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9]+$/, "not an order id");

export function merchantIdOfOrder(orderId: string): string {
  return orderId.slice(0, orderId.lastIndexOf("."));
}

/**
 * A UTF-16 code unit of a surrogate pair standing alone. JSON can carry one ("\ud800"), but it is
 * not a character: no UTF-8 store can keep it (D1 turns it into U+FFFD), so text holding one could
 * never be echoed back the way it was sent.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Free text typed by people (notes, reasons, names): stored and echoed as text, never markup.
 * Any Unicode is welcome, control characters included; text that is not Unicode is refused.
 */
export const TextSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), "must be valid Unicode text (it has a lone surrogate)");

export const PrepMinutesSchema = z.number().int().min(1).max(180);
export const IsoTimeSchema = z.iso.datetime();

export const OrderItemSchema = z.object({
  name: TextSchema(200),
  quantity: z.number().int().min(1).max(99),
  unitPriceCents: z.number().int().min(0).max(10_000_000),
  notes: TextSchema(500).optional(),
});
export type OrderItem = z.infer<typeof OrderItemSchema>;

export const DriverSchema = z.object({
  id: IdSchema,
  name: TextSchema(100),
  etaMinutes: z.number().int().min(0).max(600).optional(),
  assignedAt: IsoTimeSchema.optional(),
  arrivedAt: IsoTimeSchema.optional(),
});
export type Driver = z.infer<typeof DriverSchema>;

export const OrderSchema = z.object({
  id: OrderIdSchema,
  merchantId: IdSchema,
  customerId: IdSchema,
  status: OrderStatusSchema,
  items: z.array(OrderItemSchema).min(1).max(100),
  totalCents: z.number().int().min(0),
  notes: TextSchema(500).optional(),
  /** +1 on every change; clients keep the highest they saw. */
  version: z.number().int().min(1),
  placedAt: IsoTimeSchema,
  /** placedAt + the merchant's acceptWindowSeconds. */
  acceptBy: IsoTimeSchema,
  prepMinutes: PrepMinutesSchema.optional(),
  readyBy: IsoTimeSchema.optional(),
  driver: DriverSchema.optional(),
  rejectReason: z.string().optional(),
  cancelReason: z.string().optional(),
  cancelledBy: ActorSchema.optional(),
  acceptedAt: IsoTimeSchema.optional(),
  rejectedAt: IsoTimeSchema.optional(),
  preparingAt: IsoTimeSchema.optional(),
  readyAt: IsoTimeSchema.optional(),
  pickedUpAt: IsoTimeSchema.optional(),
  deliveredAt: IsoTimeSchema.optional(),
  cancelledAt: IsoTimeSchema.optional(),
  expiredAt: IsoTimeSchema.optional(),
  updatedAt: IsoTimeSchema,
});
export type Order = z.infer<typeof OrderSchema>;

/** A merchant's settings, as stored by its room. */
export const MerchantSchema = z.object({
  id: IdSchema,
  name: TextSchema(200),
  acceptWindowSeconds: z.number().int().min(60).max(3600),
  defaultPrepMinutes: PrepMinutesSchema,
});
export type Merchant = z.infer<typeof MerchantSchema>;
