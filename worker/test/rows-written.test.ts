/**
 * The rows-written counters the bench reports per change and per order (issue 15) count every
 * kind of write the SQLite backend bills: statements (including RETURNING ones, whose rows the
 * runtime reports at exec), alarm writes and key-value writes — which no SQL cursor reports — and
 * D1's own count. Dev mode only; read at GET /api/dev/rows-written.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { flushOutbox, merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";

type PerRoom = Record<"merchantRoom" | "orderRoom" | "callerKeys" | "pairingCodes" | "webhookRegistry", number>;
type Counters = {
  rows: PerRoom & { d1: number };
  sql: PerRoom;
  alarm: PerRoom;
  kv: PerRoom;
  d1: number;
  calls: { orderRoomRelays: number; d1Batches: number };
};

async function counters(): Promise<Counters> {
  const res = await api<Counters>("GET", "/api/dev/rows-written");
  expect(res.status).toBe(200);
  return res.body;
}

describe("rows written, counted for the bench", () => {
  it("a placement's rows in the merchant room and in D1, with the batch that carried them", async () => {
    const { merchantId } = await setupMerchant();
    await flushOutbox(merchantId);
    const before = await counters();
    await placeOrder(merchantId);
    await flushOutbox(merchantId);
    const after = await counters();
    // The order row and its indexes, the event and its index, the order's acceptance deadline.
    expect(after.sql.merchantRoom - before.sql.merchantRoom).toBeGreaterThanOrEqual(3);
    expect(after.d1 - before.d1).toBeGreaterThanOrEqual(1);
    expect(after.calls.d1Batches - before.calls.d1Batches).toBeGreaterThanOrEqual(1);
    expect(after.rows.merchantRoom - before.rows.merchantRoom).toBe(
      after.sql.merchantRoom +
        after.alarm.merchantRoom +
        after.kv.merchantRoom -
        (before.sql.merchantRoom + before.alarm.merchantRoom + before.kv.merchantRoom),
    );
  });

  it("alarm and key-value writes, which no SQL cursor reports, are counted too", async () => {
    const { merchantId } = await setupMerchant();
    await flushOutbox(merchantId);
    const before = await counters();
    await runInDurableObject(merchantStub(merchantId), async (_room, state) => {
      await state.storage.setAlarm(Date.now() + 3_600_000);
      await state.storage.deleteAlarm();
      await state.storage.put("a", 1);
      await state.storage.put({ b: 2, c: 3 });
      await state.storage.delete(["a", "b", "c"]);
    });
    const after = await counters();
    expect(after.alarm.merchantRoom - before.alarm.merchantRoom).toBe(2);
    expect(after.kv.merchantRoom - before.kv.merchantRoom).toBe(6);
  });

  it("a RETURNING statement's rows are counted at exec, before its rows are read", async () => {
    const { merchantId } = await setupMerchant();
    await runInDurableObject(merchantStub(merchantId), (_room, state) => {
      state.storage.sql.exec(`CREATE TABLE IF NOT EXISTS probe (a INTEGER PRIMARY KEY, b TEXT)`);
    });
    const before = await counters();
    const rows = await runInDurableObject(merchantStub(merchantId), (_room, state) => {
      const cursor = state.storage.sql.exec(`INSERT INTO probe (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z') RETURNING a`);
      const atExec = cursor.rowsWritten;
      cursor.toArray();
      return { atExec, afterRead: cursor.rowsWritten };
    });
    expect(rows).toEqual({ atExec: 3, afterRead: 3 });
    expect((await counters()).sql.merchantRoom - before.sql.merchantRoom).toBe(3);
  });
});
