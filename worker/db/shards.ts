/**
 * History is sharded over several D1 databases by merchant, so its capacity grows with the
 * business (one D1 holds 10 GB and cannot be raised). The shards are the bindings DB, DB_1,
 * DB_2, … in that order. A merchant's shard is chosen once, when its history is first written:
 * fnv1a32(merchantId) modulo the number of *open* shards (HISTORY_OPEN_SHARDS, default all),
 * stored with the merchant and never changed — so adding a database moves nobody, and closing a
 * full one to new merchants is a variable, not a migration. See README "History and capacity".
 */
import { drizzle } from "drizzle-orm/d1";

const SHARD_BINDING = /^DB(?:_(\d+))?$/;

/** Every history shard, by number (DB is shard 0). */
export function historyShards(env: Env): D1Database[] {
  const found: [number, D1Database][] = [];
  for (const [name, value] of Object.entries(env)) {
    const match = SHARD_BINDING.exec(name);
    if (match) found.push([Number(match[1] ?? 0), value as D1Database]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, db]) => db);
}

/** The shards new merchants may be put on. */
export function openShards(env: Env): number[] {
  const all = historyShards(env).map((_, i) => i);
  const listed = (env.HISTORY_OPEN_SHARDS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number)
    .filter((n) => all.includes(n));
  return listed.length > 0 ? listed : all;
}

/** FNV-1a, 32 bit: a stable, well-spread hash that any client can recompute. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard a new merchant's history goes to. */
export function assignShard(env: Env, merchantId: string): number {
  const open = openShards(env);
  return open[fnv1a32(merchantId) % open.length]!;
}

export function shardDb(env: Env, shard: number) {
  const db = historyShards(env)[shard];
  if (!db) throw new Error(`history shard ${shard} has no D1 binding (DB${shard === 0 ? "" : `_${shard}`})`);
  return drizzle(db);
}
