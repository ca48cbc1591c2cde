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

/** Roles a token can carry. `platform` (Additions v2) is a delivery platform's backend. */
export const RoleSchema = z.enum(["customer", "merchant", "driver", "dispatch", "platform"]);
export type Role = z.infer<typeof RoleSchema>;

/** Who made a change. `system` is the room itself (deadlines, scheduled times, auto-pause). */
export const ActorSchema = z.object({
  role: z.enum(["customer", "merchant", "driver", "dispatch", "platform", "system"]),
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

/**
 * An item as the order carries it. After acceptance the kitchen may lower a quantity to 0 (the
 * item is removed, kept in place so indexes stay stable); a station marks it done.
 */
export const OrderLineSchema = OrderItemSchema.extend({
  quantity: z.number().int().min(0).max(99),
  doneAt: IsoTimeSchema.optional(),
});
export type OrderLine = z.infer<typeof OrderLineSchema>;

/** One change of item quantities after acceptance (Additions v2, kitchen operations). */
export const AdjustmentSchema = z.object({
  at: IsoTimeSchema,
  reason: TextSchema(500),
  changes: z.array(z.object({ index: z.number().int().min(0), from: z.number().int(), to: z.number().int() })),
});
export type Adjustment = z.infer<typeof AdjustmentSchema>;

export const FulfilmentSchema = z.enum(["delivery", "pickup"]);
export type Fulfilment = z.infer<typeof FulfilmentSchema>;

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
  items: z.array(OrderLineSchema).min(1).max(100),
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
  // Additions (v2): orders from a platform, kitchen operations, scheduled orders.
  externalId: z.string().min(1).max(128).optional(),
  customerName: TextSchema(100).optional(),
  fulfilment: FulfilmentSchema.optional(),
  paid: z.boolean().optional(),
  adjustments: z.array(AdjustmentSchema).optional(),
  recalledAt: IsoTimeSchema.optional(),
  requestedFor: IsoTimeSchema.optional(),
  fireAt: IsoTimeSchema.optional(),
  firedAt: IsoTimeSchema.optional(),
});
export type Order = z.infer<typeof OrderSchema>;

/** A kitchen station (grill, fryer, bar): items whose name matches a pattern are made there. */
export const StationSchema = z.object({
  id: IdSchema,
  name: TextSchema(60),
  /** Case-insensitive; `*` matches any run of characters ("*burger*", "fries"). */
  match: z.array(TextSchema(100)).min(1).max(50),
});
export type Station = z.infer<typeof StationSchema>;

/** Cloudflare's Durable Object location hints. */
export const LocationHintSchema = z.enum(["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"]);

/** An IANA time zone the runtime knows ("Europe/Lisbon"). */
export const TimeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "not a time zone");

export const AvailabilityModeSchema = z.enum(["OPEN", "BUSY", "PAUSED"]);
export type AvailabilityMode = z.infer<typeof AvailabilityModeSchema>;

/** Whether a merchant takes orders now (Additions v2). */
export const AvailabilitySchema = z.object({
  mode: AvailabilityModeSchema,
  /** A timed state ends by itself at this time (back to OPEN). */
  until: IsoTimeSchema.optional(),
  /** BUSY: minutes added to every new order's prep time. */
  extraPrepMinutes: z.number().int().min(1).max(120).optional(),
  /** Why (free text; "auto" when the room paused itself). */
  reason: TextSchema(200).optional(),
  /** With reason "auto": why the room paused itself, in words (an addition). */
  detail: TextSchema(200).optional(),
  since: IsoTimeSchema.optional(),
});
export type Availability = z.infer<typeof AvailabilitySchema>;

/** An item the kitchen has run out of ("86"), until a time. */
export const SoldOutItemSchema = z.object({ name: TextSchema(200), until: IsoTimeSchema });
export type SoldOutItem = z.infer<typeof SoldOutItemSchema>;

/** Auto-pause rules (Additions v2): both per merchant, 0 turns one off. */
export const AutoPauseSchema = z.object({
  /** Pause after this many orders in a row expire unanswered. */
  afterExpiredInARow: z.number().int().min(0).max(100),
  /** Pause while no kitchen screen has been connected for this many minutes. */
  noScreenMinutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60),
});
export type AutoPause = z.infer<typeof AutoPauseSchema>;

/** A merchant's settings, as stored by its room; `availability` and `soldOut` are its live state. */
export const MerchantSchema = z.object({
  id: IdSchema,
  name: TextSchema(200),
  acceptWindowSeconds: z.number().int().min(60).max(3600),
  defaultPrepMinutes: PrepMinutesSchema,
  stations: z.array(StationSchema).max(20).optional(),
  allergens: z.array(TextSchema(40)).max(50).optional(),
  timeZone: TimeZoneSchema.optional(),
  locationHint: LocationHintSchema.optional(),
  autoPause: AutoPauseSchema.optional(),
  availability: AvailabilitySchema.optional(),
  soldOut: z.array(SoldOutItemSchema).optional(),
});
export type Merchant = z.infer<typeof MerchantSchema>;
