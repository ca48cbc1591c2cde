/** An order's audit trail entry, read from a merchant room's stored stream event. */
import type { AuditEntry, MerchantStreamEnvelope } from "../../../schema/index.ts";
import { readEnvelope, type StoredEvent } from "../event-log.ts";

/** The entry for one stored event (with its seq), or null for an event that changed no order. */
export function auditEntryOf(
  stored: StoredEvent,
): (AuditEntry & { seq: number; event: MerchantStreamEnvelope["event"] }) | null {
  const env = readEnvelope(stored.envelope) as MerchantStreamEnvelope;
  if (stored.orderId === null || !("actor" in env.payload)) return null;
  return {
    seq: stored.seq,
    event: env.event,
    at: env.at,
    actor: env.payload.actor,
    via: stored.via === "relay" ? "system" : stored.via,
    ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
    order: env.payload.order,
  };
}
