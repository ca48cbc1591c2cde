/**
 * The checks of a merchant room's own record after a chaos run: its audit trail against the ledger
 * of what was sent and answered (every committed change has exactly one event and no event lacks
 * one; orders moved only along the contract's table), and D1's history rows against the rooms.
 */
import type { Order } from "../../../schema/order.ts";
import { canTransition, type ChangeMaker, isFinal } from "../../../schema/transitions.ts";
import { type Checks, canonical } from "./checks.ts";
import { committedOrders, type LedgerEntry } from "./ledger.ts";

/** One order's change as the room logged it: `seq` when read from its stream, absent from a trail. */
export interface AuditEvent {
  seq?: number;
  event: string;
  requestId?: string;
  order: Order;
  actor: { role: string; id: string };
}

/** A room's stored log holds seq 1..roomSeq, each once, in order. */
export function checkLog(checks: Checks, merchantId: string, seqs: readonly number[], roomSeq: number): void {
  if (seqs.length !== roomSeq || seqs.some((s, i) => s !== i + 1))
    checks.fail("changes", `${merchantId}: its log is not seq 1..${roomSeq}`);
}

/**
 * A merchant's audit trail (`events`: every event of its orders) against its orders as the room
 * holds them and the ledger's entries for this merchant. `changes`: how many order events the
 * room's stream holds (its seq, less merchant-level events).
 */
export function checkTrail(
  checks: Checks,
  {
    merchantId,
    orders,
    events,
    changes,
    entries,
  }: {
    merchantId: string;
    orders: Map<string, Order>;
    events: readonly AuditEvent[];
    changes: number;
    entries: Iterable<LedgerEntry>;
  },
): void {
  const byOrder = new Map<string, AuditEvent[]>();
  for (const e of events) byOrder.set(e.order.id, [...(byOrder.get(e.order.id) ?? []), e]);
  let versions = 0;
  for (const [id, order] of orders) {
    // Versions 1..v, one event each; the last is the order as it is; only the table's moves.
    const trail = byOrder.get(id) ?? [];
    versions += order.version;
    const vs = trail.map((e) => e.order.version);
    if (canonical(vs) !== canonical(Array.from({ length: order.version }, (_, i) => i + 1)))
      checks.fail("changes", `${id} at v${order.version} has events for versions ${vs.join(",")}`);
    if (canonical(trail.at(-1)?.order) !== canonical(order))
      checks.fail("changes", `${id}: last event differs from the order`);
    for (let i = 1; i < trail.length; i++) {
      const [from, to, by] = [trail[i - 1]!.order.status, trail[i]!.order.status, trail[i]!.actor.role];
      if (isFinal(from)) checks.fail("table", `${id} changed after final ${from}`);
      if (from !== to && !canTransition(from, to, by as ChangeMaker))
        checks.fail("table", `${id}: ${from} → ${to} by ${by}`);
    }
  }
  for (const id of byOrder.keys())
    if (!orders.has(id)) checks.fail("changes", `${merchantId}: events for unknown order ${id}`);
  if (versions !== changes)
    checks.fail("changes", `${merchantId}: ${versions} changes across its orders, ${changes} events in its stream`);

  // Every event has its change in the ledger (or is the deadline's), exactly once.
  const ledger = new Map([...entries].map((entry) => [entry.key, entry]));
  const applied = new Map<string, number>();
  for (const e of events) {
    const at = `${e.order.id} v${e.order.version} (${e.event})`;
    if (e.requestId === undefined) {
      if (e.actor.role !== "system" || e.event !== "ORDER_EXPIRED") checks.fail("changes", `${at} has no requestId`);
      continue;
    }
    const k = `${e.requestId}|${e.order.id}`;
    applied.set(k, (applied.get(k) ?? 0) + 1);
    const entry = ledger.get(e.requestId);
    if (!entry) {
      checks.tally.diverged++;
      checks.fail("changes", `${at}: unknown requestId ${e.requestId}`);
      continue;
    }
    if (`${e.actor.role}:${e.actor.id}` !== entry.scope)
      checks.fail("changes", `${at}: actor ${e.actor.role}:${e.actor.id}, expected ${entry.scope}`);
    if (!committedOrders(entry.first).some((o) => canonical(o) === canonical(e.order))) {
      checks.tally.diverged++;
      checks.fail("changes", `${at} is not what ${e.requestId} answered`);
    }
  }
  for (const [k, n] of applied) {
    if (n <= 1) continue;
    checks.tally.duplicated += n - 1;
    checks.fail("retries", `${k} applied ${n} times`);
  }
  // And every change answered has its event; every retry was answered again.
  for (const entry of ledger.values()) {
    for (const o of committedOrders(entry.first)) {
      if (applied.has(`${entry.key}|${o.id}`)) continue;
      checks.tally.lost++;
      checks.fail("changes", `${entry.key} answered ${o.id} v${o.version} but no event has it`);
    }
    if (entry.retries > 0 && entry.answers < 2)
      checks.fail("retries", `${entry.key} retried but answered ${entry.answers} time(s)`);
  }
}

/** D1's lean history row of an order (the room keeps the order whole and its trail). */
export type D1OrderRow = {
  id: string;
  version: number;
  status: string;
  total_cents: number;
  customer_id: string;
  driver_id: string | null;
};

/** D1 (every history row of these merchants, from every shard) against the rooms' orders. */
export function checkProjection(
  checks: Checks,
  { orders, d1Orders }: { orders: Map<string, Order>; d1Orders: readonly D1OrderRow[] },
): void {
  const rows = new Map<string, D1OrderRow>();
  for (const r of d1Orders) {
    if (rows.has(r.id)) checks.fail("projection", `D1 has ${r.id} twice (two shards?)`);
    rows.set(r.id, r);
  }
  for (const [id, o] of orders) {
    const r = rows.get(id);
    const same =
      r?.version === o.version &&
      r.status === o.status &&
      r.total_cents === o.totalCents &&
      r.customer_id === o.customerId &&
      (r.driver_id ?? undefined) === o.driver?.id;
    if (same) continue;
    checks.tally.diverged++;
    checks.fail("projection", `${id}: D1 row v${r?.version} ${r?.status}, room v${o.version} ${o.status}`);
  }
  for (const id of rows.keys()) if (!orders.has(id)) checks.fail("projection", `D1 has an order nobody placed: ${id}`);
}
