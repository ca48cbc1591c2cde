/** The merchant room's orders: the current version of each, and the active ones for the board. */
import { isActiveStatus, type Order } from "../../../schema/index.ts";

export class OrderStore {
  constructor(private readonly sql: SqlStorage) {}

  get(orderId: string): Order | null {
    const row = this.sql.exec<{ json: string }>(`SELECT json FROM orders WHERE id = ?`, orderId).toArray()[0];
    return row ? (JSON.parse(row.json) as Order) : null;
  }

  /**
   * Inside a change's transaction. A new order is inserted; a change updates in place (not
   * INSERT OR REPLACE, which deletes and re-inserts the row and every index entry: 3 rows written
   * per change instead of 1). `active` is set only when it changes: the board's index is partial
   * on it, and naming the column in an UPDATE rewrites the index entry too (2 rows, not 1).
   */
  put(order: Order, before: Order | null, seq: number): void {
    const active = isActiveStatus(order.status) ? 1 : 0;
    // The change's event joins the order's list of seqs (EventLog.forOrder reads it).
    const seqs = `event_seqs = CASE event_seqs WHEN '' THEN ? ELSE event_seqs || ',' || ? END`;
    if (before && isActiveStatus(before.status) === (active === 1)) {
      this.sql.exec(
        `UPDATE orders SET status = ?, version = ?, json = ?, ${seqs} WHERE id = ?`,
        order.status,
        order.version,
        JSON.stringify(order),
        String(seq),
        String(seq),
        order.id,
      );
    } else if (order.version === 1) {
      this.sql.exec(
        `INSERT INTO orders (id, status, version, placed_at, active, json, event_seqs) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        order.id,
        order.status,
        order.version,
        order.placedAt,
        active,
        JSON.stringify(order),
        String(seq),
      );
    } else {
      this.sql.exec(
        `UPDATE orders SET status = ?, version = ?, active = ?, json = ?, ${seqs} WHERE id = ?`,
        order.status,
        order.version,
        active,
        JSON.stringify(order),
        String(seq),
        String(seq),
        order.id,
      );
    }
  }

  /** The seqs of the order's stream events, oldest first, as a JSON array (null: no such order). */
  eventSeqs(orderId: string): string | null {
    const row = this.sql
      .exec<{ seqs: string }>(`SELECT event_seqs AS seqs FROM orders WHERE id = ?`, orderId)
      .toArray()[0];
    return row ? `[${row.seqs}]` : null;
  }

  /** Active orders, oldest first (the live board). */
  active(): Order[] {
    return this.sql
      .exec<{ json: string }>(`SELECT json FROM orders WHERE active = 1 ORDER BY placed_at, id`)
      .toArray()
      .map((r) => JSON.parse(r.json) as Order);
  }

  /** Every order, newest first, after `after` (keyset by placedAt, id). */
  history(
    limit: number,
    after: { placedAt: string; id: string } | null,
  ): { orders: Order[]; next: { placedAt: string; id: string } | null } {
    const rows = after
      ? this.sql.exec<{ json: string }>(
          `SELECT json FROM orders WHERE (placed_at, id) < (?, ?) ORDER BY placed_at DESC, id DESC LIMIT ?`,
          after.placedAt,
          after.id,
          limit + 1,
        )
      : this.sql.exec<{ json: string }>(`SELECT json FROM orders ORDER BY placed_at DESC, id DESC LIMIT ?`, limit + 1);
    const orders = rows.toArray().map((r) => JSON.parse(r.json) as Order);
    const page = orders.slice(0, limit);
    const last = page[page.length - 1];
    return { orders: page, next: orders.length > limit && last ? { placedAt: last.placedAt, id: last.id } : null };
  }
}
