/**
 * Costs (issue 15): what the server pays per operation and per order, in workerd CPU and in SQLite
 * rows written (every Durable Object and D1), on an otherwise idle server. It runs first, before
 * any other scenario has left deferred work behind.
 *
 * - Lifecycle: `lifecycles` orders, one after the other, each through its whole life — placed by
 *   its customer (REST, with an Idempotency-Key, as the apps send it), accepted, preparing and
 *   ready on the kitchen socket (every socket action carries its requestId), a driver assigned by
 *   dispatch, and arrived, picked up and delivered by the driver (REST): 8 stream events. Then the
 *   server settles (deferred work included: cursor writes, the final relay of each order). CPU,
 *   rows and D1 bytes over the whole block, per order; rows per change (merchant room), per relayed
 *   version and per relay call (order rooms).
 * - Per operation: placements, socket accepts and a BULK_ACCEPT of 100, each on an idle server and
 *   until it is idle again (op-cost.ts). Relays to order rooms nobody watches wait (RELAY_QUIET_MS),
 *   so between blocks a customer's socket is opened once: it makes the room deliver everything
 *   pending, and no block pays for the one before.
 */
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { round } from "../lib/common.ts";
import { type BenchContext, createMerchant, mintToken } from "../lib/orchestrator.ts";
import { cpuMsOfAll } from "../lib/proc.ts";
import { api, placeMany } from "../load/client.ts";
import { openWithSnapshot } from "../load/mailbox.ts";
import {
  kitchenActor,
  type OpsRow,
  opCostMeter,
  type RowsDelta,
  readRows,
  rowsBetween,
  settle,
  timedPlacement,
} from "../load/op-cost.ts";

const PLAN = { quick: { lifecycles: 20, n: 10 }, full: { lifecycles: 100, n: 30 } };
/** Stream events of one lifecycle: placed, accepted, preparing, ready, driver assigned, arrived, picked up, delivered. */
const EVENTS_PER_LIFECYCLE = 8;

export interface CostsResult {
  cpu_ms_per_placement: number | null;
  cpu_ms_per_socket_accept: number | null;
  cpu_ms_per_bulk_accepted_order: number | null;
  cpu_ms_per_order_lifecycle: number | null;
  rows_written_per_change: number | null;
  rows_written_per_relay: number | null;
  rows_written_per_relay_call: number | null;
  rows_written_per_order: number | null;
  d1_bytes_per_order: number | null;
  lifecycle: {
    orders: number;
    changes: number;
    wall_ms: number;
    workerd_cpu_ms: number;
    rows: RowsDelta | null;
    rows_per_order_by_storage: Record<string, number | null> | null;
    d1_used_bytes_before: number | null;
    d1_used_bytes_after: number | null;
  };
  ops: OpsRow[];
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { lifecycles, n } = ctx.quick ? PLAN.quick : PLAN.full;
  const life = await createMerchant(ctx, "bench-life");
  const ops = await createMerchant(ctx, "bench-cost");
  const workerPids = ctx.servers.product_workerd;
  const d1Before = d1UsedBytes(ctx.persistTo);
  const lc = await ctx.agents.solo.call("costLifecycle", {
    screenUrl: life.screenUrl(await life.token("life-screen")),
    merchantId: life.id,
    customerTokens: ctx.customers,
    dispatchToken: ctx.dispatch,
    driverToken: await mintToken(ctx.api, { role: "driver", sub: "bench-driver" }),
    n: lifecycles,
    workerPids,
  });
  const d1After = d1UsedBytes(ctx.persistTo);
  const per = await ctx.agents.solo.call("costOps", {
    wsBase: ctx.wsBase,
    screenUrl: ops.screenUrl(await ops.token("cost-screen")),
    merchantId: ops.id,
    customerTokens: ctx.customers,
    n,
    workerPids,
  });
  const row = (op: string) => per.rows.find((r) => r.op === op);
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const rows = lc.rows;
  const perOrder = (v: number | undefined) => (v === undefined ? null : round(v / lc.orders, 2));
  const out: CostsResult = {
    cpu_ms_per_placement: num(row(PLACEMENT)?.workerd_cpu_total_ms),
    cpu_ms_per_socket_accept: num(row(ACCEPT)?.workerd_cpu_total_ms),
    cpu_ms_per_bulk_accepted_order: num(row(BULK)?.workerd_cpu_total_ms),
    cpu_ms_per_order_lifecycle: round(lc.cpuMs / lc.orders, 2),
    rows_written_per_change: rows ? round((rows.rows.merchantRoom ?? 0) / lc.changes, 2) : null,
    rows_written_per_relay: rows ? round((rows.rows.orderRoom ?? 0) / lc.changes, 2) : null,
    rows_written_per_relay_call: rows?.calls.orderRoomRelays
      ? round((rows.rows.orderRoom ?? 0) / rows.calls.orderRoomRelays, 2)
      : null,
    rows_written_per_order: rows ? perOrder(rows.total) : null,
    d1_bytes_per_order: d1Before !== null && d1After !== null ? round((d1After - d1Before) / lc.orders, 0) : null,
    lifecycle: {
      orders: lc.orders,
      changes: lc.changes,
      wall_ms: round(lc.wallMs, 0) ?? 0,
      workerd_cpu_ms: round(lc.cpuMs, 0) ?? 0,
      rows,
      rows_per_order_by_storage: rows
        ? Object.fromEntries(Object.entries(rows.rows).map(([k, v]) => [k, perOrder(v)]))
        : null,
      d1_used_bytes_before: d1Before,
      d1_used_bytes_after: d1After,
    },
    ops: per.rows,
  };
  ctx.results.scenarios.costs = out;
  ctx.log(
    `costs: CPU ${out.cpu_ms_per_placement} ms/placement, ${out.cpu_ms_per_socket_accept} ms/socket accept, ${out.cpu_ms_per_bulk_accepted_order} ms/bulk-accepted order, ${out.cpu_ms_per_order_lifecycle} ms/lifecycle; rows ${out.rows_written_per_change}/change (merchant room), ${out.rows_written_per_relay}/relayed version, ${out.rows_written_per_order}/order; D1 ${out.d1_bytes_per_order} B/order`,
  );
}

const PLACEMENT = "POST /api/orders";
const ACCEPT = "socket MERCHANT_ACCEPT";
const BULK = "socket BULK_ACCEPT of 100 (per order)";

/**
 * Bytes in use in every local D1 database — every table's and index's pages less their unused
 * space (SQLite's dbstat), so a few small rows count even when they fit in pages already there —
 * or null if there are none or they cannot be read.
 */
export function d1UsedBytes(persistTo: string): number | null {
  const dir = path.join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".sqlite"));
  } catch {
    return null;
  }
  if (files.length === 0) return null;
  let total = 0;
  for (const f of files) {
    try {
      const db = new DatabaseSync(path.join(dir, f), { readOnly: true });
      total += Number(db.prepare(`SELECT SUM(pgsize - unused) AS used FROM dbstat`).get()?.used ?? 0);
      db.close();
    } catch {
      return null;
    }
  }
  return total;
}

type LifecycleArgs = {
  screenUrl: string;
  merchantId: string;
  customerTokens: string[];
  dispatchToken: string;
  driverToken: string;
  n: number;
  workerPids: number[];
};

type CostOpsArgs = {
  wsBase: string;
  screenUrl: string;
  merchantId: string;
  customerTokens: string[];
  n: number;
  workerPids: number[];
};

export const agent = {
  async costLifecycle({
    screenUrl,
    merchantId,
    customerTokens,
    dispatchToken,
    driverToken,
    n,
    workerPids,
  }: LifecycleArgs) {
    const screen = await openWithSnapshot(screenUrl);
    const act = kitchenActor(screen, "life");
    const rest = async (path: string, token: string, body: unknown = {}) => {
      const r = await api()("POST", path, { token, body });
      if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
    };
    await settle(workerPids);
    const rows0 = await readRows();
    const cpu0 = cpuMsOfAll(workerPids);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const token = customerTokens[i % customerTokens.length]!;
      const placed = await api()<{ id: string }>("POST", "/api/orders", {
        token,
        body: { merchantId, items: [{ name: "Margherita", quantity: 1, unitPriceCents: 1100 }] },
        headers: { "idempotency-key": `life-${i}` },
      });
      if (placed.status !== 201 || !placed.json) throw new Error(`place: ${placed.status} ${placed.text}`);
      const orderId = placed.json.id;
      const o = `/api/orders/${encodeURIComponent(orderId)}`;
      await act("MERCHANT_ACCEPT", { orderId, prepMinutes: 10 });
      await act("MERCHANT_MARK_PREPARING", { orderId });
      await act("MERCHANT_MARK_READY", { orderId });
      await rest(`${o}/driver`, dispatchToken, { driverId: "bench-driver", name: "Bench Driver" });
      await rest(`${o}/arrived`, driverToken);
      await rest(`${o}/pickup`, driverToken);
      await rest(`${o}/deliver`, driverToken);
      screen.clear();
    }
    const wallMs = performance.now() - t0;
    await settle(workerPids);
    const cpuMs = cpuMsOfAll(workerPids) - cpu0;
    const rows = rowsBetween(rows0, await readRows());
    screen.ws.close();
    return { orders: n, changes: n * EVENTS_PER_LIFECYCLE, wallMs, cpuMs, rows };
  },

  async costOps({ wsBase, screenUrl, merchantId, customerTokens, n, workerPids }: CostOpsArgs) {
    const screen = await openWithSnapshot(screenUrl);
    const act = kitchenActor(screen, "cost");
    const { rows, measure } = opCostMeter(workerPids);
    const before = () => screen.clear();
    /** Opening a customer's socket makes the merchant room deliver everything pending (watchOrder). */
    const deliverAll = async (order: { id: string; token: string }) => {
      const s = await openWithSnapshot(`${wsBase}/ws/order/${encodeURIComponent(order.id)}?token=${order.token}`);
      s.ws.close();
      await settle(workerPids);
    };
    const tokenOf = (i: number) => customerTokens[i % customerTokens.length]!;
    const placed = await measure(
      PLACEMENT,
      n,
      (i) => timedPlacement(screen, workerPids, { merchantId, token: tokenOf(i), key: `cost-place-${i}` }),
      { before },
    );
    await deliverAll({ id: placed[0]!.id, token: tokenOf(0) });
    await measure(ACCEPT, n, (i) => act("MERCHANT_ACCEPT", { orderId: placed[i]!.id, prepMinutes: 10 }), { before });
    await deliverAll({ id: placed[0]!.id, token: tokenOf(0) });
    const { orders } = await placeMany({ merchantId, tokens: customerTokens, n: 100 });
    await deliverAll(orders[0]!);
    await measure(BULK, 1, () => act("BULK_ACCEPT", { orderIds: orders.map((o) => o.id), prepMinutes: 10 }), {
      perOp: 100,
      before,
    });
    await deliverAll(orders[0]!);
    screen.ws.close();
    return { rows };
  },
};
