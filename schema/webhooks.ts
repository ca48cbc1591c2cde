/**
 * Webhooks (CONTRACT.md, Additions v2): subscriptions over REST, and what each delivery carries.
 * Every stream event of the merchant room can be subscribed to, by name.
 */
import { z } from "zod";
import { IdSchema, IsoTimeSchema } from "./order.ts";
import { MerchantEventNameSchema, StreamEventNameSchema } from "./ws.ts";

export const WebhookEventNameSchema = z.enum([...StreamEventNameSchema.options, ...MerchantEventNameSchema.options]);
export type WebhookEventName = z.infer<typeof WebhookEventNameSchema>;

/** `wh_` and 24 random characters. */
export const WebhookIdSchema = z.string().regex(/^wh_[A-Za-z0-9]{8,40}$/, "not a webhook id");

const unique = <T>(list: T[]) => new Set(list).size === list.length;

/**
 * `url` is checked beyond its syntax by the Worker (https only when deployed, never the Worker
 * itself), which knows where it runs.
 */
export const CreateWebhookBodySchema = z.object({
  url: z.string().min(1).max(2048),
  /** Absent: every event, including ones added later. */
  events: z.array(WebhookEventNameSchema).min(1).max(50).refine(unique, "events must be unique").optional(),
  /** Absent: every merchant, including ones set up later. */
  merchantIds: z.array(IdSchema).min(1).max(1000).refine(unique, "merchantIds must be unique").optional(),
});
export type CreateWebhookBody = z.infer<typeof CreateWebhookBodySchema>;

/** A subscription as its owner reads it. `events` / `merchantIds` null: all. Never the secret. */
export const WebhookSchema = z.object({
  id: WebhookIdSchema,
  url: z.string(),
  events: z.array(WebhookEventNameSchema).nullable(),
  merchantIds: z.array(IdSchema).nullable(),
  createdAt: IsoTimeSchema,
  /** `failing`: some merchant's deliveries have been failing for over 24 h (see `failing`). */
  status: z.enum(["active", "failing"]),
  failing: z.array(z.object({ merchantId: IdSchema, since: IsoTimeSchema, lastError: z.string().optional() })),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/** The answer to a create: the only time the secret is shown. */
export const CreatedWebhookSchema = WebhookSchema.extend({ secret: z.string().startsWith("whsec_") });
export type CreatedWebhook = z.infer<typeof CreatedWebhookSchema>;

export const WebhookListResponseSchema = z.object({ webhooks: z.array(WebhookSchema) });

export const RotateSecretResponseSchema = z.object({
  secret: z.string().startsWith("whsec_"),
  /** Until then the previous secret signs too (both signatures in `webhook-signature`). */
  previousSecretExpiresAt: IsoTimeSchema,
});
export type RotateSecretResponse = z.infer<typeof RotateSecretResponseSchema>;

export const WebhookDeliveryStatusSchema = z.enum(["delivered", "pending", "failing"]);
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatusSchema>;

export const WebhookDeliverySchema = z.object({
  /** The `webhook-id` header: `<merchantId>:<seq>`, the same on every retry. */
  messageId: z.string(),
  event: z.string(),
  merchantId: IdSchema,
  seq: z.number().int().min(1),
  orderId: z.string().optional(),
  status: WebhookDeliveryStatusSchema,
  attempts: z.number().int().min(1),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
  lastAttemptAt: IsoTimeSchema.optional(),
  latencyMs: z.number().min(0).optional(),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

export const WebhookDeliveriesQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
export const WebhookDeliveriesResponseSchema = z.object({ deliveries: z.array(WebhookDeliverySchema) });

/** Delivers again every event after `sinceSeq` (like a socket's `since`), as far back as the room keeps. */
export const RedeliverBodySchema = z.object({ merchantId: IdSchema, sinceSeq: z.number().int().min(0) });
export type RedeliverBody = z.infer<typeof RedeliverBodySchema>;

/** What each POST carries: `data` is the stream event's payload with the merchant and seq. */
export const WebhookPayloadSchema = z.object({
  type: WebhookEventNameSchema,
  timestamp: IsoTimeSchema,
  data: z.looseObject({ merchantId: IdSchema, seq: z.number().int().min(1) }),
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
