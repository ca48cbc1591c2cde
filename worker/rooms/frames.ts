/**
 * Every frame a room sends is built here, from the contract's envelope types (schema/ws.ts), so
 * a frame that does not fit its type does not compile. Keys go in one order (event, seq,
 * requestId, at, payload): a stored stream event is sent again byte for byte on replay, and live
 * and replayed frames look the same.
 */
import type {
  AckEnvelope,
  BulkItemResult,
  BulkResultEnvelope,
  DeliveryStatusEnvelope,
  ErrorBody,
  ErrorEnvelope,
  MerchantEventEnvelope,
  MerchantOrderEnvelope,
  MerchantSnapshotEnvelope,
  OrderSnapshotEnvelope,
  OrderStreamEnvelope,
  ReplayDoneEnvelope,
  ServerEnvelope,
} from "../../schema/index.ts";

function serialise(e: ServerEnvelope): string {
  return JSON.stringify({
    event: e.event,
    ...("seq" in e ? { seq: e.seq } : {}),
    ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
    at: e.at,
    payload: e.payload,
  });
}

const withRequestId = (requestId: string | undefined) => (requestId !== undefined ? { requestId } : {});
const now = () => new Date().toISOString();

/** A merchant room's stream event of one order's change (stored in its log, then broadcast). */
export function orderChangeFrame(
  event: MerchantOrderEnvelope["event"],
  seq: number,
  payload: MerchantOrderEnvelope["payload"],
  at: string,
  requestId?: string,
): string {
  return serialise({ event, seq, ...withRequestId(requestId), at, payload } satisfies MerchantOrderEnvelope);
}

/** A merchant room's stream event about the merchant itself (availability, sold-out items). */
export function merchantChangeFrame(
  event: MerchantEventEnvelope["event"],
  seq: number,
  payload: MerchantEventEnvelope["payload"],
  at: string,
  requestId?: string,
): string {
  return serialise({ event, seq, ...withRequestId(requestId), at, payload } as MerchantEventEnvelope);
}

/** An order room's stream event: the merchant room's change, renumbered in the order's own stream. */
export function orderEventFrame(
  event: OrderStreamEnvelope["event"],
  seq: number,
  payload: OrderStreamEnvelope["payload"],
  at: string,
  requestId?: string,
): string {
  return serialise({ event, seq, ...withRequestId(requestId), at, payload } satisfies OrderStreamEnvelope);
}

export type SnapshotPayload = MerchantSnapshotEnvelope["payload"] | OrderSnapshotEnvelope["payload"];

export function snapshotFrame(seq: number, payload: SnapshotPayload): string {
  return "orders" in payload
    ? serialise({ event: "SNAPSHOT", seq, at: now(), payload } satisfies MerchantSnapshotEnvelope)
    : serialise({ event: "SNAPSHOT", seq, at: now(), payload } satisfies OrderSnapshotEnvelope);
}

export function replayDoneFrame(seq: number, epoch: string, replayed: number): string {
  return serialise({ event: "REPLAY_DONE", seq, at: now(), payload: { epoch, replayed } } satisfies ReplayDoneEnvelope);
}

export function ackFrame(payload: AckEnvelope["payload"], requestId?: string): string {
  return serialise({ event: "ACK", ...withRequestId(requestId), at: now(), payload } satisfies AckEnvelope);
}

export function bulkResultFrame(results: BulkItemResult[], requestId?: string): string {
  return serialise({
    event: "BULK_RESULT",
    ...withRequestId(requestId),
    at: now(),
    payload: { results },
  } satisfies BulkResultEnvelope);
}

export function deliveryStatusFrame(payload: DeliveryStatusEnvelope["payload"]): string {
  return serialise({ event: "DELIVERY_STATUS", at: now(), payload } satisfies DeliveryStatusEnvelope);
}

export function errorFrame(error: ErrorBody, requestId?: string): string {
  return serialise({ event: "ERROR", ...withRequestId(requestId), at: now(), payload: error } satisfies ErrorEnvelope);
}
