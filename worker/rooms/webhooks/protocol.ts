/** What merchant rooms and the WebhookRegistry tell each other (RPC), and the owners' results. */

/** A subscription as a merchant room needs it to deliver: with the secrets that sign now. */
export interface RoomSubscription {
  id: string;
  url: string;
  /** Null: every event. */
  events: string[] | null;
  /** Events committed from this time on (room clock) are delivered: earlier ones never were asked for. */
  createdAtMs: number;
  /** Newest first; more than one during a rotation. */
  secrets: string[];
}

/** One attempt of one message, as a room reports it (in batches) for the deliveries log. */
export interface DeliveryReport {
  subscriptionId: string;
  messageId: string;
  merchantId: string;
  seq: number;
  event: string;
  orderId: string | null;
  /** `failing`: given up on (retried for over 24 h, or the subscription is failing here). */
  outcome: "delivered" | "pending" | "failing";
  statusCode?: number;
  error?: string;
  attemptAtMs: number;
  latencyMs: number;
}

/** Who owns a subscription: the caller who created it (role and sub). */
export type Owner = string;

export function ownerOf(caller: { role: string; id: string }): Owner {
  return `${caller.role}:${caller.id}`;
}
