/** What D1 holds: the lean history rows, wherever their merchant's shard is. */
import { env } from "cloudflare:workers";
import { historyShards } from "../../db/shards.ts";

export interface HistoryRow {
  shard: number;
  id: string;
  merchant_id: string;
  customer_id: string;
  driver_id: string | null;
  external_id: string | null;
  status: string;
  version: number;
  total_cents: number;
  item_count: number;
  placed_at: string;
  updated_at: string;
}

/** The order's D1 row and the shard it is in; null if no shard has it (yet). Throws if two do. */
export async function historyRow(orderId: string): Promise<HistoryRow | null> {
  const found: HistoryRow[] = [];
  for (const [shard, db] of historyShards(env).entries()) {
    const row = await db.prepare(`SELECT * FROM orders WHERE id = ?`).bind(orderId).first<Omit<HistoryRow, "shard">>();
    if (row) found.push({ shard, ...row });
  }
  if (found.length > 1) throw new Error(`${orderId} is in shards ${found.map((r) => r.shard).join(", ")}`);
  return found[0] ?? null;
}

/** Every D1 row of a merchant's orders, from every shard. */
export async function historyRowsOf(merchantId: string): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  for (const [shard, db] of historyShards(env).entries()) {
    const { results } = await db
      .prepare(`SELECT * FROM orders WHERE merchant_id = ? ORDER BY placed_at, id`)
      .bind(merchantId)
      .all<Omit<HistoryRow, "shard">>();
    rows.push(...results.map((r) => ({ shard, ...r })));
  }
  return rows;
}

/** The merchant's settings row in its history shard (null if none has it yet). */
export async function historyMerchantRow(merchantId: string): Promise<Record<string, unknown> | null> {
  for (const db of historyShards(env)) {
    const row = await db
      .prepare(`SELECT name, accept_window_seconds, default_prep_minutes FROM merchants WHERE id = ?`)
      .bind(merchantId)
      .first();
    if (row) return row;
  }
  return null;
}
