/**
 * The merchant's paired kitchen screens (CONTRACT.md Additions v2, "Actors and sign-in"), kept in
 * the merchant room: it sees every action of the merchant and holds the sockets a revocation must
 * close, so a revocation is one synchronous change here and takes effect everywhere at once.
 *
 * Refresh tokens are stored as SHA-256 hashes (the Worker hashes; every method here is
 * synchronous SQL, so a rotation cannot interleave with another). Rotation policy:
 * - the current token → the next one; the presented one is spent and never works again;
 * - a spent token presented again is reuse (two holders of one credential): the device is
 *   revoked — its sockets close and every token it has stops working — and pairs again;
 * - except the one repeat a lost answer needs: the same request again (same spent token, same
 *   Idempotency-Key) within REFRESH_REPLAY_MS gets the same answer. The Worker derives the next
 *   secret from the presented one and the key, so a repeat yields the same next hash and the
 *   room recognises it without ever storing a secret;
 * - anything else → refused, nothing changes (guessing at a device id must not revoke it).
 */
import { CLOSE_REVOKED, type DeviceEntry } from "../../../schema/index.ts";
import type { SocketIdentity } from "../live-room.ts";
import { applyLayout, type StorageLayout, tableExists } from "../storage-schema.ts";

/** How long the same refresh request may be repeated after its answer was lost. */
export const REFRESH_REPLAY_MS = 60 * 1000;
/** lastSeenAt is written at most this often per device. */
const SEEN_EVERY_MS = 60 * 1000;

const DEVICE_TABLES: StorageLayout = {
  component: "devices",
  exists: (sql) => tableExists(sql, "devices"),
  create: (sql) => {
    sql.exec(`CREATE TABLE devices (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      paired_ms INTEGER NOT NULL,
      last_seen_ms INTEGER,
      revoked_ms INTEGER,
      refresh_hash TEXT,
      refresh_expires_ms INTEGER,
      prev_hash TEXT,
      rotated_ms INTEGER
    ) WITHOUT ROWID`);
    // Every refresh token a device has used up, until it would have expired anyway.
    sql.exec(`CREATE TABLE device_spent_tokens (
      device_id TEXT NOT NULL,
      hash TEXT NOT NULL,
      expires_ms INTEGER NOT NULL,
      PRIMARY KEY (device_id, hash)
    ) WITHOUT ROWID`);
  },
  upgrades: [],
};

interface DeviceRow extends Record<string, SqlStorageValue> {
  id: string;
  name: string;
  paired_ms: number;
  last_seen_ms: number | null;
  revoked_ms: number | null;
  refresh_hash: string | null;
  refresh_expires_ms: number | null;
  prev_hash: string | null;
  rotated_ms: number | null;
}

export type RotateOutcome =
  | { ok: true; device: DeviceEntry }
  | { ok: false; reason: "unknown" | "revoked" | "expired" | "reused" };

export class DeviceRegistry {
  private readonly sql: SqlStorage;

  constructor(
    storage: DurableObjectStorage,
    private readonly clock: () => number,
    private readonly refreshTtlMs: number,
  ) {
    applyLayout(storage, DEVICE_TABLES);
    this.sql = storage.sql;
  }

  add(device: { id: string; name: string; refreshHash: string }): DeviceEntry {
    const now = this.clock();
    this.sql.exec(
      `INSERT INTO devices (id, name, paired_ms, last_seen_ms, refresh_hash, refresh_expires_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
      device.id,
      device.name,
      now,
      now,
      device.refreshHash,
      now + this.refreshTtlMs,
    );
    return entryOf(this.row(device.id)!);
  }

  /** Every device ever paired, newest first (revoked ones too: the list is also the record). */
  list(): DeviceEntry[] {
    return this.sql.exec<DeviceRow>(`SELECT * FROM devices ORDER BY paired_ms DESC, id`).toArray().map(entryOf);
  }

  /** True while the device is paired and not revoked; notes that it was seen. */
  isActive(id: string): boolean {
    const row = this.row(id);
    if (!row || row.revoked_ms !== null) return false;
    const now = this.clock();
    if (row.last_seen_ms === null || now - row.last_seen_ms >= SEEN_EVERY_MS) {
      this.sql.exec(`UPDATE devices SET last_seen_ms = ? WHERE id = ?`, now, id);
    }
    return true;
  }

  /** Exchanges the refresh token hashed `presented` for the one hashed `next` (policy above). */
  rotate(id: string, presented: string, next: string): RotateOutcome {
    const row = this.row(id);
    if (!row) return { ok: false, reason: "unknown" };
    if (row.revoked_ms !== null) return { ok: false, reason: "revoked" };
    const now = this.clock();
    this.forgetExpired(id, now);
    if (presented === row.refresh_hash) {
      if (row.refresh_expires_ms === null || now >= row.refresh_expires_ms) return { ok: false, reason: "expired" };
      this.spend(row.refresh_hash, id, row.refresh_expires_ms);
      this.sql.exec(
        `UPDATE devices SET refresh_hash = ?, refresh_expires_ms = ?, prev_hash = ?, rotated_ms = ?, last_seen_ms = ?
         WHERE id = ?`,
        next,
        now + this.refreshTtlMs,
        presented,
        now,
        now,
        id,
      );
      return { ok: true, device: entryOf(this.row(id)!) };
    }
    const replay =
      presented === row.prev_hash &&
      next === row.refresh_hash &&
      row.rotated_ms !== null &&
      now - row.rotated_ms <= REFRESH_REPLAY_MS;
    if (replay) return { ok: true, device: entryOf(row) };
    const spent = this.sql
      .exec(`SELECT 1 FROM device_spent_tokens WHERE device_id = ? AND hash = ?`, id, presented)
      .toArray();
    if (spent.length === 0) return { ok: false, reason: "unknown" };
    this.revoke(id);
    return { ok: false, reason: "reused" };
  }

  /** Revokes the device (idempotent); null if there is no such device. */
  revoke(id: string): DeviceEntry | null {
    const row = this.row(id);
    if (!row) return null;
    if (row.revoked_ms === null) {
      this.sql.exec(
        `UPDATE devices SET revoked_ms = ?, refresh_hash = NULL, prev_hash = NULL WHERE id = ?`,
        this.clock(),
        id,
      );
      this.sql.exec(`DELETE FROM device_spent_tokens WHERE device_id = ?`, id);
    }
    return entryOf(this.row(id)!);
  }

  /** Forgets the device's spent tokens that would have expired anyway. */
  private forgetExpired(deviceId: string, now: number): void {
    this.sql.exec(`DELETE FROM device_spent_tokens WHERE device_id = ? AND expires_ms <= ?`, deviceId, now);
  }

  private spend(hash: string, deviceId: string, expiresMs: number): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO device_spent_tokens (device_id, hash, expires_ms) VALUES (?, ?, ?)`,
      deviceId,
      hash,
      expiresMs,
    );
  }

  private row(id: string): DeviceRow | undefined {
    return this.sql.exec<DeviceRow>(`SELECT * FROM devices WHERE id = ?`, id).toArray()[0];
  }
}

function entryOf(row: DeviceRow): DeviceEntry {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: row.id,
    name: row.name,
    pairedAt: iso(row.paired_ms),
    ...(row.last_seen_ms !== null ? { lastSeenAt: iso(row.last_seen_ms) } : {}),
    ...(row.revoked_ms !== null ? { revokedAt: iso(row.revoked_ms) } : {}),
  };
}

/**
 * Closes the device's sockets in this room now, with CLOSE_REVOKED: the screen knows at once
 * that it was signed out, not that the network dropped.
 */
export function closeDeviceSockets(ctx: DurableObjectState, deviceId: string, reason = "device revoked"): number {
  let closed = 0;
  for (const ws of ctx.getWebSockets("merchant")) {
    const who = ws.deserializeAttachment() as SocketIdentity;
    if (who.device !== true || who.sub !== deviceId) continue;
    try {
      ws.close(CLOSE_REVOKED, reason);
      closed++;
    } catch {
      // Already closing.
    }
  }
  return closed;
}
