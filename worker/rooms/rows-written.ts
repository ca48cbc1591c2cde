/**
 * Rows written, counted per kind of storage — what Cloudflare bills per Durable Object and D1
 * write, and what issue 15's bench reports per change, per relay and per order. Dev mode only (the
 * bench runs the product with DEV_MODE): the counters live in the isolate, which in the local
 * runtime the Worker and every Durable Object class share, and `GET /api/dev/rows-written` reads
 * them.
 *
 * What is counted, and how (checked by worker/test/rows-written.test.ts):
 * - `sql`: every `storage.sql.exec` statement's `cursor.rowsWritten`, read at once. The runtime
 *   runs a writing statement to completion on exec (a RETURNING statement's changes too; SQLite
 *   makes all of them on its first step), and counts index entries of inserts. An exec of several
 *   statements reports only its last one's rows: the product never sends more than one.
 * - `alarm`: `setAlarm`/`deleteAlarm` calls. The SQLite backend keeps the alarm in a row of its own
 *   table (`_cf_METADATA`), billed as a row written, which no cursor reports. Counted per call —
 *   an upper bound, if the runtime skips setting the time the alarm already has.
 * - `kv`: keys written or deleted through the key-value API (`put`/`delete`, rows of `_cf_KV`).
 * - `d1`: D1's own count (`meta.rows_written` of each statement of a batch).
 * - `calls`: relay calls into order rooms and D1 batches (how much one call carries).
 */
export type RoomBucket = "merchantRoom" | "orderRoom" | "callerKeys" | "pairingCodes" | "webhookRegistry";

const perRoom = (): Record<RoomBucket, number> => ({
  merchantRoom: 0,
  orderRoom: 0,
  callerKeys: 0,
  pairingCodes: 0,
  webhookRegistry: 0,
});

export const writes = {
  sql: perRoom(),
  alarm: perRoom(),
  kv: perRoom(),
  d1: 0,
  calls: { orderRoomRelays: 0, d1Batches: 0 },
};

/** Rows written per kind of storage, all kinds of write together (what `GET /api/dev/rows-written` leads with). */
export function rowsWritten(): Record<RoomBucket | "d1", number> {
  const rows = perRoom();
  for (const b of Object.keys(rows) as RoomBucket[]) rows[b] = writes.sql[b] + writes.alarm[b] + writes.kv[b];
  return { ...rows, d1: writes.d1 };
}

const counted = new WeakSet<DurableObjectStorage>();

/** Counts every write through `storage` into `bucket` (once per storage; dev mode only). */
export function countStorageWrites(env: Env, storage: DurableObjectStorage, bucket: RoomBucket): void {
  if (env.DEV_MODE !== "true" || counted.has(storage)) return;
  counted.add(storage);
  const sql = storage.sql;
  const exec = sql.exec.bind(sql);
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    const cursor = exec(query, ...bindings);
    writes.sql[bucket] += cursor.rowsWritten;
    return cursor;
  }) as SqlStorage["exec"];
  const setAlarm = storage.setAlarm.bind(storage);
  storage.setAlarm = (time, options) => {
    writes.alarm[bucket]++;
    return setAlarm(time, options);
  };
  const deleteAlarm = storage.deleteAlarm.bind(storage);
  storage.deleteAlarm = (options) => {
    writes.alarm[bucket]++;
    return deleteAlarm(options);
  };
  const put = storage.put.bind(storage) as (...args: unknown[]) => Promise<void>;
  storage.put = ((keyOrEntries: unknown, ...rest: unknown[]) => {
    writes.kv[bucket] += typeof keyOrEntries === "string" ? 1 : Object.keys(keyOrEntries as object).length;
    return put(keyOrEntries, ...rest);
  }) as DurableObjectStorage["put"];
  const del = storage.delete.bind(storage) as (...args: unknown[]) => Promise<unknown>;
  storage.delete = ((keys: unknown, ...rest: unknown[]) => {
    writes.kv[bucket] += Array.isArray(keys) ? keys.length : 1;
    return del(keys, ...rest);
  }) as DurableObjectStorage["delete"];
}

/** Adds D1's own count (a batch's `meta.rows_written`). */
export function countD1Rows(results: unknown[]): void {
  writes.calls.d1Batches++;
  for (const r of results) {
    const meta = (r as { meta?: { rows_written?: number } } | null)?.meta;
    if (typeof meta?.rows_written === "number") writes.d1 += meta.rows_written;
  }
}

/** One relay call into an order room (however many versions it carries). */
export function countRelayCall(): void {
  writes.calls.orderRoomRelays++;
}
