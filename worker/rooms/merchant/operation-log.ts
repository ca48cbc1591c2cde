/** The one log line of an operation: what, on which order, by which path, how it ended. */
import type { LogFields } from "../../log.ts";
import type { Operation, OperationValue } from "./operations.ts";
import type { CallContext, Result } from "./writer.ts";

/**
 * `ms` is wall time in the room, which the runtime advances only across I/O: near 0 for work
 * that waited on nothing (the invocation log beside it has the request's duration).
 */
export function operationLog(
  call: CallContext,
  op: Operation,
  result: Result<OperationValue>,
  events: number,
  ms: number,
): LogFields {
  const p = op.payload as { orderId?: string; orderIds?: string[] };
  const placed = result.ok && "placed" in result.value ? result.value.placed.id : undefined;
  return {
    operation: op.action,
    order: p.orderId ?? placed,
    orders: p.orderIds?.length,
    outcome: result.ok ? "ok" : result.error.code,
    events,
    ms,
    via: call.via,
    actor: call.principal.role,
  };
}
