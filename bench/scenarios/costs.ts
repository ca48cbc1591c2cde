/**
 * Costs (issue 15): what the server pays per operation and per order, in workerd CPU and in SQLite
 * rows written (every Durable Object and D1), on an otherwise idle server. It runs first, before
 * any other scenario has left deferred work behind.
 *
 * - Lifecycles: orders through their whole life — placed by the customer (REST, with an
 *   Idempotency-Key, as the apps send it), accepted, preparing and ready on the kitchen socket
 *   (every socket action carries its requestId), a driver assigned by dispatch, and arrived,
 *   picked up and delivered by the driver (REST): 8 stream events. Then the server settles
 *   (deferred work included: cursor writes, the final relay of each order). CPU, rows and D1 bytes
 *   over the whole block, per order; rows per change (merchant room), per relayed version and per
 *   relay call (order rooms). Two blocks: `burst` (each order's whole life back to back, nobody
 *   watching: every batching window at its best) and `paced` (a busy kitchen: a few orders in
 *   flight, each taking a step every ~1.2 s, past every batching window; each customer watching
 *   the tracking page, so every change is relayed at once) — the paced figures are the headline
 *   rows per change and per order; in a quiet kitchen, with minutes between changes, each change
 *   would also carry the periodic writes (delivery cursors, the alarm) the pace here shares.
 * - Per operation: placements, socket accepts and a BULK_ACCEPT of 100, each on an idle server and
 *   until it is idle again (op-cost.ts). Relays to order rooms nobody watches wait (RELAY_QUIET_MS),
 *   so between blocks a customer's socket is opened once: it makes the room deliver everything
 *   pending, and no block pays for the one before.
 */
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { round, sleep } from "../lib/common.ts";
import { type BenchContext, createMerchant, mintToken } from "../lib/orchestrator.ts";
import { cpuMsOfAll, waitQuiet } from "../lib/proc.ts";
import { api, placeMany } from "../load/client.ts";
import { type Mailbox, openWithSnapshot } from "../load/mailbox.ts";
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

const PLAN = { quick: { burst: 20, paced: 5, n: 10 }, full: { burst: 100, paced: 10, n: 30 } };
/** Stream events of one lifecycle: placed, accepted, preparing, ready, driver assigned, arrived, picked up, delivered. */
const EVENTS_PER_LIFECYCLE = 8;

/** One block of lifecycles: its totals and what they cost per order. */
export interface LifecycleBlock {
  orders: number;
  changes: number;
  wall_ms: number;
  workerd_cpu_ms: number;
  cpu_ms_per_order: number | null;
  /** Merchant room rows per stream event. */
  rows_per_change: number | null;
  /** Order room rows per relayed version, and per relay call. */
  rows_per_relay: number | null;
  rows_per_relay_call: number | null;
  rows_per_order: number | null;
  rows_per_order_by_storage: Record<string, number | null> | null;
  rows: RowsDelta | null;
  d1_bytes_per_order: number | null;
}

export interface CostsResult {
  cpu_ms_per_placement: number | null;
  cpu_ms_per_socket_accept: number | null;
  cpu_ms_per_bulk_accepted_order: number | null;
  cpu_ms_per_order_lifecycle: number | null;
  /** The paced lifecycles' figures (a busy kitchen's pace, customers watching): the headline. */
  rows_written_per_change: number | null;
  rows_written_per_relay: number | null;
  rows_written_per_relay_call: number | null;
  rows_written_per_order: number | null;
  /** The burst lifecycles' (every order's whole life back to back, nobody watching). */
  rows_written_per_order_burst: number | null;
  d1_bytes_per_order: number | null;
  paced: LifecycleBlock;
  burst: LifecycleBlock;
  ops: OpsRow[];
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const plan = ctx.quick ? PLAN.quick : PLAN.full;
  const workerPids = ctx.servers.product_workerd;
  const driverToken = await mintToken(ctx.api, { role: "driver", sub: "bench-driver" });
  const lifecycles = async (paced: boolean): Promise<LifecycleBlock> => {
    const m = await createMerchant(ctx, paced ? "bench-paced" : "bench-burst");
    const d1Before = d1UsedBytes(ctx.persistTo);
    const lc = await ctx.agents.solo.call("costLifecycle", {
      wsBase: ctx.wsBase,
      paced,
      screenUrl: m.screenUrl(await m.token("life-screen")),
      merchantId: m.id,
      customerTokens: ctx.customers,
      dispatchToken: ctx.dispatch,
      driverToken,
      n: paced ? plan.paced : plan.burst,
      workerPids,
    });
    const d1After = d1UsedBytes(ctx.persistTo);
    const rows = lc.rows;
    const perOrder = (v: number | undefined) => (v === undefined ? null : round(v / lc.orders, 2));
    return {
      orders: lc.orders,
      changes: lc.changes,
      wall_ms: round(lc.wallMs, 0) ?? 0,
      workerd_cpu_ms: round(lc.cpuMs, 0) ?? 0,
      cpu_ms_per_order: perOrder(lc.cpuMs),
      rows_per_change: rows ? round((rows.rows.merchantRoom ?? 0) / lc.changes, 2) : null,
      rows_per_relay: rows ? round((rows.rows.orderRoom ?? 0) / lc.changes, 2) : null,
      rows_per_relay_call: rows?.calls.orderRoomRelays
        ? round((rows.rows.orderRoom ?? 0) / rows.calls.orderRoomRelays, 2)
        : null,
      rows_per_order: rows ? perOrder(rows.total) : null,
      rows_per_order_by_storage: rows
        ? Object.fromEntries(Object.entries(rows.rows).map(([k, v]) => [k, perOrder(v)]))
        : null,
      rows,
      d1_bytes_per_order: d1Before !== null && d1After !== null ? round((d1After - d1Before) / lc.orders, 0) : null,
    };
  };
  const burst = await lifecycles(false);
  const paced = await lifecycles(true);
  const m = await createMerchant(ctx, "bench-cost");
  const per = await ctx.agents.solo.call("costOps", {
    wsBase: ctx.wsBase,
    screenUrl: m.screenUrl(await m.token("cost-screen")),
    merchantId: m.id,
    customerTokens: ctx.customers,
    n: plan.n,
    workerPids,
  });
  const row = (op: string) => per.rows.find((r) => r.op === op);
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const out: CostsResult = {
    cpu_ms_per_placement: num(row(PLACEMENT)?.workerd_cpu_total_ms),
    cpu_ms_per_socket_accept: num(row(ACCEPT)?.workerd_cpu_total_ms),
    cpu_ms_per_bulk_accepted_order: num(row(BULK)?.workerd_cpu_total_ms),
    cpu_ms_per_order_lifecycle: burst.cpu_ms_per_order,
    rows_written_per_change: paced.rows_per_change,
    rows_written_per_relay: paced.rows_per_relay,
    rows_written_per_relay_call: paced.rows_per_relay_call,
    rows_written_per_order: paced.rows_per_order,
    rows_written_per_order_burst: burst.rows_per_order,
    d1_bytes_per_order: burst.d1_bytes_per_order,
    paced,
    burst,
    ops: per.rows,
  };
  ctx.results.scenarios.costs = out;
  ctx.log(
    `costs: CPU ${out.cpu_ms_per_placement} ms/placement, ${out.cpu_ms_per_socket_accept} ms/socket accept, ${out.cpu_ms_per_bulk_accepted_order} ms/bulk-accepted order, ${out.cpu_ms_per_order_lifecycle} ms/lifecycle (burst); rows (paced) ${out.rows_written_per_change}/change (merchant room), ${out.rows_written_per_relay}/relayed version, ${out.rows_written_per_order}/order (burst: ${out.rows_written_per_order_burst}); D1 ${out.d1_bytes_per_order} B/order`,
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

/** Opening a customer's socket makes the merchant room deliver everything pending (watchOrder). */
async function deliverAll(wsBase: string, order: { id: string; token: string }): Promise<void> {
  const s = await openWithSnapshot(`${wsBase}/ws/order/${encodeURIComponent(order.id)}?token=${order.token}`);
  s.ws.close();
}

/** Between two steps of the paced lifecycles: idle, then past the 1 s batching windows. */
async function pause(workerPids: number[]): Promise<void> {
  await waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
  await sleep(1100);
}

type LifecycleArgs = {
  wsBase: string;
  paced: boolean;
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
  async costLifecycle(args: LifecycleArgs) {
    const { wsBase, screenUrl, merchantId, customerTokens, dispatchToken, driverToken, n, paced, workerPids } = args;
    const screen = await openWithSnapshot(screenUrl);
    const act = kitchenActor(screen, paced ? "paced" : "burst");
    const rest = async (path: string, token: string, body: unknown = {}) => {
      const r = await api()("POST", path, { token, body });
      if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
    };
    const steps: Array<(o: { id: string; path: string }) => Promise<unknown>> = [
      (o) => act("MERCHANT_ACCEPT", { orderId: o.id, prepMinutes: 10 }),
      (o) => act("MERCHANT_MARK_PREPARING", { orderId: o.id }),
      (o) => act("MERCHANT_MARK_READY", { orderId: o.id }),
      (o) => rest(`${o.path}/driver`, dispatchToken, { driverId: "bench-driver", name: "Bench Driver" }),
      (o) => rest(`${o.path}/arrived`, driverToken),
      (o) => rest(`${o.path}/pickup`, driverToken),
      (o) => rest(`${o.path}/deliver`, driverToken),
    ];
    const place = async (i: number) => {
      const token = customerTokens[i % customerTokens.length]!;
      const placed = await api()<{ id: string }>("POST", "/api/orders", {
        token,
        body: { merchantId, items: [{ name: "Margherita", quantity: 1, unitPriceCents: 1100 }] },
        headers: { "idempotency-key": `${paced ? "paced" : "burst"}-${i}` },
      });
      if (placed.status !== 201 || !placed.json) throw new Error(`place: ${placed.status} ${placed.text}`);
      return { id: placed.json.id, path: `/api/orders/${encodeURIComponent(placed.json.id)}`, token };
    };
    await settle(workerPids);
    const rows0 = await readRows();
    const cpu0 = cpuMsOfAll(workerPids);
    const t0 = performance.now();
    const customers: Mailbox[] = [];
    let last: { id: string; token: string } | null = null;
    if (paced) {
      // A busy kitchen's pace: every order in flight takes its next step, then a pause longer
      // than any batching window; each customer watches the tracking page from placement on.
      const orders = [];
      for (let i = 0; i < n; i++) orders.push(await place(i));
      for (const o of orders)
        customers.push(await openWithSnapshot(`${wsBase}/ws/order/${encodeURIComponent(o.id)}?token=${o.token}`));
      for (const step of steps) {
        await pause(workerPids);
        for (const o of orders) await step(o);
        screen.clear();
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = await place(i);
        for (const step of steps) await step(o);
        screen.clear();
        last = o;
      }
    }
    const wallMs = performance.now() - t0;
    // What the block left for later is its cost too: relays of unwatched changes wait (the cursor
    // passes them, resending what went ahead if the room was evicted meanwhile). A socket opened
    // to an order room makes the merchant room deliver everything pending now.
    if (last) await deliverAll(wsBase, last);
    await settle(workerPids);
    const cpuMs = cpuMsOfAll(workerPids) - cpu0;
    const rows = rowsBetween(rows0, await readRows());
    for (const c of customers) c.ws.close();
    screen.ws.close();
    return { orders: n, changes: n * EVENTS_PER_LIFECYCLE, wallMs, cpuMs, rows };
  },

  async costOps({ wsBase, screenUrl, merchantId, customerTokens, n, workerPids }: CostOpsArgs) {
    const screen = await openWithSnapshot(screenUrl);
    const act = kitchenActor(screen, "cost");
    const { rows, measure } = opCostMeter(workerPids);
    const before = () => screen.clear();
    const deliverAllNow = async (order: { id: string; token: string }) => {
      await deliverAll(wsBase, order);
      await settle(workerPids);
    };
    const tokenOf = (i: number) => customerTokens[i % customerTokens.length]!;
    const placed = await measure(
      PLACEMENT,
      n,
      (i) => timedPlacement(screen, workerPids, { merchantId, token: tokenOf(i), key: `cost-place-${i}` }),
      { before },
    );
    await deliverAllNow({ id: placed[0]!.id, token: tokenOf(0) });
    await measure(ACCEPT, n, (i) => act("MERCHANT_ACCEPT", { orderId: placed[i]!.id, prepMinutes: 10 }), { before });
    await deliverAllNow({ id: placed[0]!.id, token: tokenOf(0) });
    const { orders } = await placeMany({ merchantId, tokens: customerTokens, n: 100 });
    await deliverAllNow(orders[0]!);
    await measure(BULK, 1, () => act("BULK_ACCEPT", { orderIds: orders.map((o) => o.id), prepMinutes: 10 }), {
      perOp: 100,
      before,
    });
    await deliverAllNow(orders[0]!);
    screen.ws.close();
    return { rows };
  },
};
