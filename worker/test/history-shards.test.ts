/**
 * History that outgrows one D1: lean rows, sharded by merchant over several D1 databases (DB,
 * DB_1 here), a merchant's shard chosen once and kept; a customer's orders read across all
 * shards; per-merchant history and the audit trail served by the merchant room.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Order, OrderSummary } from "../../schema/index.ts";
import { assignShard, fnv1a32, historyShards, openShards } from "../db/shards.ts";
import { token, tokens } from "./support/credentials.ts";
import { flushOutbox, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { historyRow, historyRowsOf } from "./support/history.ts";
import { api, uniqueId } from "./support/http.ts";
import { inMerchantRoom } from "./support/room-seams.ts";

describe("sharded history", () => {
  it("has at least two shards here, and puts each merchant's rows in exactly one of them", async () => {
    expect(historyShards(env).length).toBeGreaterThanOrEqual(2);
    const shardsUsed = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const { merchantId } = await setupMerchant();
      const customer = await tokens.customer(uniqueId("c"));
      const orders = [await placeOrder(merchantId, customer), await placeOrder(merchantId, customer)];
      await flushOutbox(merchantId);
      const rows = await historyRowsOf(merchantId);
      expect(rows.map((r) => r.id).sort()).toEqual(orders.map((o) => o.id).sort());
      expect(new Set(rows.map((r) => r.shard)).size).toBe(1);
      // The documented mapping: fnv1a32(merchantId) mod the open shards when the merchant was created.
      expect(rows[0]!.shard).toBe(fnv1a32(merchantId) % historyShards(env).length);
      shardsUsed.add(rows[0]!.shard);
    }
    expect(shardsUsed.size).toBeGreaterThan(1);
  });

  it("keeps a merchant on its shard once chosen, whatever the open shards become", async () => {
    const { merchantId } = await setupMerchant();
    await placeOrder(merchantId);
    await flushOutbox(merchantId);
    const chosen = await inMerchantRoom(merchantId, (_room, state) =>
      Number(
        state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'history_shard'`).one().value,
      ),
    );
    expect((await historyRowsOf(merchantId))[0]!.shard).toBe(chosen);
    // A new merchant on a closed shard's hash goes to an open one; the stored choice never moves.
    const closedAll = { ...env, HISTORY_OPEN_SHARDS: String(1 - chosen) } as Env;
    expect(openShards(closedAll)).toEqual([1 - chosen]);
    expect(assignShard(closedAll, merchantId)).toBe(1 - chosen);
    const order = await placeOrder(merchantId);
    await flushOutbox(merchantId);
    expect((await historyRow(order.id))?.shard).toBe(chosen);
  });

  it("keeps D1 lean: one small row per order, none of its items or audit trail", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff });
    await flushOutbox(merchantId);
    const [db] = historyShards(env);
    const tables = await db!
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'd1_%'`,
      )
      .all<{ name: string }>();
    expect(tables.results.map((t) => t.name).sort()).toEqual(["merchants", "orders"]);
    const row = await historyRow(order.id);
    const bytes = Object.values(row!).reduce<number>((n, v) => n + String(v ?? "").length, 0);
    expect(bytes).toBeLessThan(300);
    expect(row).toMatchObject({ version: 2, status: "ACCEPTED", item_count: 3 });
  });
});

describe("GET /api/customers/:customerId/orders", () => {
  it("merges every shard, newest first, page by page, for the customer, dispatch and the platform", async () => {
    const customerId = uniqueId("cust");
    const customer = await tokens.customer(customerId);
    const placed: Order[] = [];
    const shards = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const { merchantId } = await setupMerchant();
      placed.push(await placeOrder(merchantId, customer), await placeOrder(merchantId, customer));
      await flushOutbox(merchantId);
      shards.add((await historyRowsOf(merchantId))[0]!.shard);
    }
    const newestFirst = [...placed].sort((a, b) =>
      a.placedAt === b.placedAt ? (a.id < b.id ? 1 : -1) : a.placedAt < b.placedAt ? 1 : -1,
    );
    const seen: OrderSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await api<{ orders: OrderSummary[]; nextCursor?: string }>(
        "GET",
        `/api/customers/${customerId}/orders?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { token: customer },
      );
      expect(page.status).toBe(200);
      expect(page.body.orders.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.orders);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.map((o) => o.id)).toEqual(newestFirst.map((o) => o.id));
    expect(seen[0]).toEqual({
      id: newestFirst[0]!.id,
      merchantId: newestFirst[0]!.merchantId,
      status: "PLACED",
      totalCents: newestFirst[0]!.totalCents,
      itemCount: 3,
      placedAt: newestFirst[0]!.placedAt,
      updatedAt: newestFirst[0]!.updatedAt,
    });
    for (const who of [await tokens.dispatch(), await token("platform", "plat-1")]) {
      const res = await api<{ orders: OrderSummary[] }>("GET", `/api/customers/${customerId}/orders?limit=200`, {
        token: who,
      });
      expect(res.body.orders).toHaveLength(placed.length);
    }
    expect(
      (await api("GET", `/api/customers/${customerId}/orders`, { token: await tokens.customer("someone-else") }))
        .status,
    ).toBe(403);
    expect((await api("GET", `/api/customers/${customerId}/orders`, { token: await tokens.driver() })).status).toBe(
      403,
    );
    expect((await api("GET", `/api/customers/${customerId}/orders?cursor=nope`, { token: customer })).status).toBe(400);
  });
});

describe("the merchant room keeps what D1 does not", () => {
  it("serves the merchant's whole history, newest first, and each order's audit trail", async () => {
    const { merchantId, staff } = await setupMerchant();
    const orders = [await placeOrder(merchantId), await placeOrder(merchantId), await placeOrder(merchantId)];
    await api("POST", `/api/merchants/${merchantId}/orders/${orders[0]!.id}/reject`, {
      token: staff,
      body: { reason: "closed" },
    });
    const all = await api<{ orders: Order[]; seq: number; nextCursor?: string }>(
      "GET",
      `/api/merchants/${merchantId}/orders?status=all&limit=2`,
      { token: staff },
    );
    expect(all.body.orders.map((o) => o.id)).toEqual([orders[2]!.id, orders[1]!.id]);
    expect(all.body.seq).toBe(4);
    const rest = await api<{ orders: Order[]; nextCursor?: string }>(
      "GET",
      `/api/merchants/${merchantId}/orders?status=all&limit=2&cursor=${encodeURIComponent(all.body.nextCursor!)}`,
      { token: staff },
    );
    expect(rest.body.orders.map((o) => [o.id, o.status])).toEqual([[orders[0]!.id, "REJECTED"]]);
    expect(rest.body.nextCursor).toBeUndefined();
    const trail = await api<{ events: { event: string }[] }>("GET", `/api/orders/${orders[0]!.id}/events`, {
      token: staff,
    });
    expect(trail.body.events.map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_REJECTED"]);
  });
});
