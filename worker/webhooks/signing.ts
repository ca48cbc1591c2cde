/**
 * Standard Webhooks messages: the body, the `webhook-*` headers, and their signatures. Signing is
 * the specification's own JavaScript implementation (npm `standardwebhooks`: pure JavaScript
 * HMAC-SHA256, so it runs in workerd as it does in Node); nothing here is hand-rolled crypto.
 */
import { Webhook } from "standardwebhooks";
import { readEnvelope, type StoredEvent } from "../rooms/event-log.ts";

export const SECRET_PREFIX = "whsec_";
/** The spec asks for 24..64 random bytes. */
const SECRET_BYTES = 32;

export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return SECRET_PREFIX + btoa(String.fromCharCode(...bytes));
}

/** One event as a webhook message; the same id and body on every attempt. */
export interface WebhookMessage {
  /** `webhook-id`: stable across retries and redeliveries, so receivers can de-duplicate. */
  id: string;
  type: string;
  orderId: string | null;
  body: string;
}

export function webhookMessage(merchantId: string, event: StoredEvent): WebhookMessage {
  const envelope = readEnvelope(event.envelope);
  const body = JSON.stringify({
    type: envelope.event,
    timestamp: envelope.at,
    data: { merchantId, seq: event.seq, ...envelope.payload },
  });
  return { id: `${merchantId}:${event.seq}`, type: envelope.event, orderId: event.orderId, body };
}

/**
 * `webhook-signature`: one `v1,<base64>` per secret that signs now (two during a rotation),
 * space-separated, as the spec says.
 */
export function signatures(secrets: string[], id: string, timestampSec: number, body: string): string {
  const at = new Date(timestampSec * 1000);
  return secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(" ");
}

export function webhookHeaders(
  secrets: string[],
  message: WebhookMessage,
  timestampSec: number,
): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "TicketRail-Webhooks/1",
    "webhook-id": message.id,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": signatures(secrets, message.id, timestampSec, message.body),
  };
}
