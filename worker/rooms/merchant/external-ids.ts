/**
 * A platform's own ids for the orders it placed here (Additions v2): the same `externalId` with
 * the same body is the same order (no `Idempotency-Key` needed); with another body, 422.
 */
export class ExternalIds {
  constructor(private readonly sql: SqlStorage) {}

  get(externalId: string): { orderId: string; fingerprint: string } | null {
    const row = this.sql
      .exec<{ order_id: string; fingerprint: string }>(
        `SELECT order_id, fingerprint FROM external_ids WHERE external_id = ?`,
        externalId,
      )
      .toArray()[0];
    return row ? { orderId: row.order_id, fingerprint: row.fingerprint } : null;
  }

  /** Inside the placement's transaction. */
  put(externalId: string, orderId: string, fingerprint: string): void {
    this.sql.exec(
      `INSERT INTO external_ids (external_id, order_id, fingerprint) VALUES (?, ?, ?)`,
      externalId,
      orderId,
      fingerprint,
    );
  }
}
