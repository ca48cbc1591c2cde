/**
 * What one operation costs the server, measured from a load process: the Worker's workerd CPU
 * (from /proc) until the client had its answer, until a screen had the event, and until the
 * server is idle again, and the rows written meanwhile (the product's dev-only counters, GET
 * /api/dev/rows-written). One operation at a time on an idle server; figures are averages over n
 * operations (CPU from the scheduler's per-thread account, proc.ts). Used by the `costs` and `ops` scenarios.
 */
import { now, ORDER_ITEMS, round, sleep, summarize } from "../lib/common.ts";
import { cpuMsOfAll, waitQuiet } from "../lib/proc.ts";
import { api } from "./client.ts";
import { type Mailbox, replyTo } from "./mailbox.ts";

export type OpsRow = Record<string, string | number | null>;

/** The product's rows-written counters (worker/rooms/rows-written.ts), as GET /api/dev/rows-written answers. */
export interface RowsCounters {
  rows: Record<string, number>;
  sql?: Record<string, number>;
  alarm?: Record<string, number>;
  kv?: Record<string, number>;
  calls?: { orderRoomRelays: number; d1Batches: number };
}

/** The counters now, or null if this product has none (a commit from before them). */
export async function readRows(): Promise<RowsCounters | null> {
  const r = await api()<RowsCounters>("GET", "/api/dev/rows-written");
  return r.status === 200 && r.json?.rows ? r.json : null;
}

/** Rows written between two readings, per bucket and in all, and relay calls / D1 batches. */
export function rowsBetween(a: RowsCounters | null, b: RowsCounters | null) {
  if (!a || !b) return null;
  const delta = (x: Record<string, number> | undefined, y: Record<string, number> | undefined) =>
    Object.fromEntries(Object.keys(y ?? {}).map((k) => [k, (y?.[k] ?? 0) - (x?.[k] ?? 0)]));
  const rows = delta(a.rows, b.rows);
  return {
    total: Object.values(rows).reduce((s, v) => s + v, 0),
    rows,
    sql: delta(a.sql, b.sql),
    alarm: delta(a.alarm, b.alarm),
    kv: delta(a.kv, b.kv),
    calls: delta(a.calls, b.calls),
  };
}
export type RowsDelta = NonNullable<ReturnType<typeof rowsBetween>>;

/**
 * Waits until the server has done everything a burst left behind: idle, then long enough for
 * work it deferred on purpose (delivery cursors are written at most once a second, by the alarm),
 * then idle again.
 */
export async function settle(workerPids: number[]): Promise<void> {
  await waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
  await sleep(2500);
  await waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
}

/** One timed operation: when it was sent and answered, and the workerd CPU when the screen had it. */
export type Timed = { t0: number; t1: number; cpuAtEvent?: number };

/** Measures operations one at a time; each measured block becomes one row. */
export function opCostMeter(workerPids: number[], proxyPids: number[] = []) {
  const rows: OpsRow[] = [];
  const quiet = () => waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
  /** Runs `fn` `count` times, each on an idle server; per-op figures divide by count × `perOp`. */
  const measure = async <R extends Timed>(
    name: string,
    count: number,
    fn: (i: number) => Promise<R>,
    { perOp = 1, before }: { perOp?: number; before?: () => void } = {},
  ) => {
    let untilReply = 0;
    let untilEvent = 0;
    let total = 0;
    let proxy = 0;
    const lat: number[] = [];
    const out: R[] = [];
    const rows0 = await readRows();
    for (let i = 0; i < count; i++) {
      await quiet();
      before?.();
      const w0 = cpuMsOfAll(workerPids);
      const p0 = cpuMsOfAll(proxyPids);
      const r = await fn(i);
      untilReply += cpuMsOfAll(workerPids) - w0;
      if (r.cpuAtEvent !== undefined) untilEvent += r.cpuAtEvent - w0;
      await quiet();
      total += cpuMsOfAll(workerPids) - w0;
      proxy += cpuMsOfAll(proxyPids) - p0;
      lat.push(r.t1 - r.t0);
      out.push(r);
    }
    await settle(workerPids);
    const written = rowsBetween(rows0, await readRows());
    const ops = count * perOp;
    rows.push({
      op: name,
      n: count,
      per_op: perOp,
      latency_p50_ms: summarize(lat).p50,
      workerd_cpu_until_reply_ms: round(untilReply / ops, 2),
      ...(out[0]?.cpuAtEvent !== undefined ? { workerd_cpu_until_screen_event_ms: round(untilEvent / ops, 2) } : {}),
      workerd_cpu_total_ms: round(total / ops, 2),
      proxy_cpu_ms: round(proxy / ops, 2),
      rows_written: written ? round(written.total / ops, 2) : null,
      rows_merchant_room: written ? round((written.rows.merchantRoom ?? 0) / ops, 2) : null,
      rows_detail: written ? JSON.stringify({ sql: written.sql, alarm: written.alarm, calls: written.calls }) : null,
    });
    return out;
  };
  return { rows, measure };
}

/** Sends kitchen actions on `screen`, one at a time; each resolves with its reply's time. */
export function kitchenActor(screen: Mailbox, prefix: string) {
  let rid = 0;
  return async (action: string, payload: unknown): Promise<Timed> => {
    const requestId = `${prefix}-${rid++}`;
    const reply = replyTo(screen, requestId, 60_000);
    const t0 = now();
    screen.send({ action, requestId, payload });
    const r = await reply;
    if (r.e.event === "ERROR") throw new Error(`${action}: ${JSON.stringify(r.e.payload)}`);
    return { t0, t1: r.t };
  };
}

/**
 * Places one order (keyed, as a customer's app sends it) and times it; `cpuAtEvent` is the
 * workerd CPU when `screen` had its ORDER_CREATED.
 */
export async function timedPlacement(
  screen: Mailbox,
  workerPids: number[],
  { merchantId, token, key }: { merchantId: string; token: string; key: string },
): Promise<Timed & { id: string }> {
  const seen = screen
    .next((e) => e.requestId === key && e.event === "ORDER_CREATED", 30_000, "ORDER_CREATED")
    .then(() => cpuMsOfAll(workerPids));
  const r = await api()<{ id: string }>("POST", "/api/orders", {
    token,
    body: { merchantId, items: ORDER_ITEMS },
    headers: { "idempotency-key": key },
  });
  if (r.status !== 201 || !r.json) throw new Error(`place: ${r.status} ${r.text}`);
  return { t0: r.t0, t1: r.t1, id: r.json.id, cpuAtEvent: await seen };
}
