/**
 * SQLite rows written, counted per kind of storage — what Cloudflare bills per Durable Object
 * and D1 write, and what issue 15's bench reports per change and per order. Dev mode only (the
 * bench runs the product with DEV_MODE): the counters live in the isolate, which in the local
 * runtime the Worker and every room share, and `GET /api/dev/rows-written` reads them.
 */
export type RowsBucket = "merchantRoom" | "orderRoom" | "callerKeys" | "d1";

export const rowsWritten: Record<RowsBucket, number> = { merchantRoom: 0, orderRoom: 0, callerKeys: 0, d1: 0 };

const counted = new WeakSet<SqlStorage>();

/** Counts every statement's rowsWritten on `sql` into `bucket` (once per storage; dev mode only). */
export function countRowsWritten(env: Env, sql: SqlStorage, bucket: RowsBucket): void {
  if (env.DEV_MODE !== "true" || counted.has(sql)) return;
  counted.add(sql);
  const exec = sql.exec.bind(sql);
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    const cursor = exec(query, ...bindings);
    rowsWritten[bucket] += cursor.rowsWritten;
    return cursor;
  }) as SqlStorage["exec"];
}

/** Adds D1's own count (a batch's `meta.rows_written`). */
export function countD1Rows(results: unknown[]): void {
  for (const r of results) {
    const meta = (r as { meta?: { rows_written?: number } } | null)?.meta;
    if (typeof meta?.rows_written === "number") rowsWritten.d1 += meta.rows_written;
  }
}
