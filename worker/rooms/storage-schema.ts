/**
 * Versioned table layouts of a Durable Object's SQLite storage. Each component (the event log,
 * the merchant's tables, delivery) has its own version: a new room creates the newest layout at
 * once; a room made by older code runs the steps from the version it has. Runs in one
 * transaction at construction, never inside an operation's transaction (which could roll the
 * tables back under the operation).
 */
export interface StorageLayout {
  /** Names the component in `schema_versions`. */
  component: string;
  /** Creates the newest layout in an empty database. */
  create: (sql: SqlStorage) => void;
  /**
   * `upgrades[i]` brings layout version i+1 to i+2. The newest version is upgrades.length + 1.
   * Version 1 is whatever the component's first code created (found by `exists`).
   */
  upgrades: Array<(sql: SqlStorage) => void>;
  /** True if this component's tables exist at all (for rooms made before versions were kept). */
  exists: (sql: SqlStorage) => boolean;
}

export function tableExists(sql: SqlStorage, name: string): boolean {
  return sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, name).toArray().length > 0;
}

export function applyLayout(storage: DurableObjectStorage, layout: StorageLayout): void {
  const sql = storage.sql;
  const newest = layout.upgrades.length + 1;
  storage.transactionSync(() => {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID`,
    );
    const row = sql
      .exec<{ version: number }>(`SELECT version FROM schema_versions WHERE component = ?`, layout.component)
      .toArray()[0];
    let version = row?.version ?? (layout.exists(sql) ? 1 : 0);
    if (version === newest) return;
    if (version === 0) {
      layout.create(sql);
      version = newest;
    }
    for (; version < newest; version++) layout.upgrades[version - 1]!(sql);
    sql.exec(`INSERT OR REPLACE INTO schema_versions (component, version) VALUES (?, ?)`, layout.component, newest);
  });
}
