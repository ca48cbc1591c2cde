/** An order's audit trail entry, read from a merchant room's stored stream event. */
import type { AuditEntry, MerchantOrderEnvelope, MerchantStreamEnvelope } from "../../../schema/index.ts";
import { readEnvelope, type StoredEvent } from "../event-log.ts";

export function isOrderChange(env: MerchantStreamEnvelope): env is MerchantOrderEnvelope {
  return "order" in env.payload;
}

/** The entry for one stored event (with its seq), or null for an event that changed no order. */
export function auditEntryOf(
  stored: StoredEvent,
): (AuditEntry & { seq: number; event: MerchantOrderEnvelope["event"] }) | null {
  const env = readEnvelope(stored.envelope) as MerchantStreamEnvelope;
  if (!isOrderChange(env)) return null;
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
