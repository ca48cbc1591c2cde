/**
 * Delivery of committed changes to the order rooms and D1 (delivery/): a receiver that fails is
 * retried by the room's own alarm until it has everything, in version order, exactly once; each
 * receiver progresses on its own whatever the other's backlog; a change D1 can never take is
 * parked, visibly, and never blocks the rest; an outage never slows the kitchen. Failures are
 * injected with faultyTargets (the same wrapper dev mode uses); delivery is left to the real
 * alarm unless a test says otherwise.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Order } from "../../schema/index.ts";
import { type Faults, faultyTargets, noFaults } from "../rooms/delivery/faulty-targets.ts";
import type { CallContext, MerchantOrderRoom } from "../rooms/merchant-order-room.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { historyRow, historyRowsOf } from "./support/history.ts";
import { advanceRoomClock, inMerchantRoom, merchantLog } from "./support/room-seams.ts";
import { openMerchantSocket, openOrderSocket } from "./support/sockets.ts";
import { checkAndClose } from "./support/frames.ts";

/**
 * Wraps the live room's delivery targets; the returned object is the room's (same isolate):
 * change it to change the faults. Relays go at once here (relayQuietMs 0): these tests are about
 * retries, not about letting unwatched orders wait (relay-quiet.test.ts is).
 */
async function injectFaults(merchantId: string, set: (f: Faults) => void = () => {}): Promise<Faults> {
  return inMerchantRoom(merchantId, (room) => {
    const faults = noFaults();
    set(faults);
    room.deliveryTargets = faultyTargets(room.deliveryTargets, faults, Date.now);
    room.relayQuietMs = 0;
    return faults;
  });
}

async function d1Version(orderId: string): Promise<number | null> {
  return (await historyRow(orderId))?.version ?? null;
}

async function orderRoomLog(orderId: string) {
  return runInDurableObject(orderStub(orderId), (_room, state) =>
    state.storage.sql.exec<{ seq: number; version: number }>(`SELECT seq, version FROM events ORDER BY seq`).toArray(),
  );
}

async function pendingOf(merchantId: string): Promise<number> {
  const { outbox } = await inMerchantRoom(merchantId, (room) => room.ops());
  return Object.values(outbox).reduce((n, r) => n + r.pending, 0);
}

/** Waits (on the real alarm) until D1 and the OrderRoom hold the merchant room's version of every order. */
async function waitConsistent(merchantId: string, orderIds: string[], timeout = 20_000): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const id of orderIds) {
        const truth = (await merchantStub(merchantId).getOrder(id))!;
        expect((await orderStub(id).getOrder())?.version, `order room of ${id}`).toBe(truth.version);
        expect(await d1Version(id), `D1 row of ${id}`).toBe(truth.version);
      }
      expect(await pendingOf(merchantId)).toBe(0);
    },
    { timeout, interval: 100 },
  );
}

/** The end state must agree everywhere: merchant room, OrderRoom (whole order and log), D1 (row and trail). */
async function expectSameEverywhere(merchantId: string, orderIds: string[]): Promise<void> {
  const log = await merchantLog(merchantId);
  for (const id of orderIds) {
    const truth = (await merchantStub(merchantId).getOrder(id)) as Order;
    expect(await orderStub(id).getOrder()).toEqual(truth);
    // D1's lean row is at the room's version, with the room's status and total.
    expect(await historyRow(id)).toMatchObject({
      version: truth.version,
      status: truth.status,
      total_cents: truth.totalCents,
      customer_id: truth.customerId,
      driver_id: truth.driver?.id ?? null,
    });
    const mine = log.filter((e) => e.orderId === id);
    // Each version exactly once, in order, in the OrderRoom's stream.
    expect((await orderRoomLog(id)).map((e) => [e.seq, e.version])).toEqual(mine.map((e, i) => [i + 1, e.version]));
  }
}

async function busyOrders(merchantId: string, staff: string): Promise<string[]> {
  const a = await placeOrder(merchantId);
  const b = await placeOrder(merchantId);
  const m = `/api/merchants/${merchantId}/orders`;
  expect((await api("POST", `${m}/${a.id}/accept`, { token: staff, body: { prepMinutes: 5 } })).status).toBe(200);
  const dispatch = await tokens.dispatch();
  expect((await api("POST", `/api/orders/${a.id}/driver`, { token: dispatch, body: DRIVER })).status).toBe(200);
  expect((await api("POST", `${m}/${a.id}/ready`, { token: staff })).status).toBe(200);
  expect((await api("POST", `${m}/${b.id}/reject`, { token: staff, body: { reason: "closed" } })).status).toBe(200);
  return [a.id, b.id];
}

/**
 * `orders` orders, each placed, accepted and then given `updates` prep-time changes, through the
 * room's own operations (the ones REST and sockets run): orders × (2 + updates) changes, fast.
 */
async function manyChanges(merchantId: string, orders: number, updates: number): Promise<string[]> {
  return inMerchantRoom(merchantId, async (room: MerchantOrderRoom) => {
    const customer: CallContext = { principal: { role: "customer", id: "cust-bulk" }, via: "rest" };
    const staff: CallContext = { principal: { role: "merchant", id: "staff-bulk", merchantId }, via: "socket" };
    const ids: string[] = [];
    const must = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      return r.value;
    };
    for (let i = 0; i < orders; i++) {
      const items = [{ name: `dish ${i}`, quantity: 1, unitPriceCents: 500 }];
      const placed = must(room.perform(customer, { action: "PLACE_ORDER", payload: { merchantId, items } }));
      ids.push((placed as { placed: Order }).placed.id);
    }
    must(room.perform(staff, { action: "BULK_ACCEPT", payload: { orderIds: ids } }));
    for (let u = 0; u < updates; u++) {
      for (const orderId of ids) {
        must(
          room.perform(staff, {
            action: "MERCHANT_UPDATE_PREP_TIME",
            payload: { orderId, prepMinutes: 1 + (u % 100) },
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 0)); // let the room's background delivery run, as between frames
    }
    return ids;
  });
}

async function drainAll(merchantId: string, timeout = 60_000): Promise<void> {
  await vi.waitFor(async () => expect((await merchantStub(merchantId).deliverPending()).pending).toBe(0), {
    timeout,
    interval: 50,
  });
}

describe("delivery", () => {
  it("an OrderRoom relay that fails is retried by the alarm until delivered, in version order", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => (f.failNext.orderRoom = 3));
    const ids = await busyOrders(merchantId, staff);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    expect(faults.failNext.orderRoom).toBe(0); // every injected failure happened…
    expect(faults.calls.orderRoom.length).toBeGreaterThanOrEqual(2 + 3); // …and was retried
  }, 60_000);

  it("a D1 batch that fails is retried by the alarm until delivered; the error is visible meanwhile", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => (f.failNext.history = 3));
    const ids = await busyOrders(merchantId, staff);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    expect(faults.failNext.history).toBe(0);
  }, 60_000);

  it("both receivers failing at once, or losing acknowledgements, still converge exactly once", async () => {
    for (const afterDelivery of [false, true]) {
      const { merchantId, staff } = await setupMerchant();
      await injectFaults(merchantId, (f) => {
        f.failNext = { orderRoom: 4, history: 4 };
        f.afterDelivery = afterDelivery;
      });
      const ids = await busyOrders(merchantId, staff);
      await waitConsistent(merchantId, ids, 30_000);
      await expectSameEverywhere(merchantId, ids);
    }
  }, 90_000);

  it("an outage never slows the kitchen: changes commit and answer while nothing can be delivered", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => {
      f.orderRoomUntil = Number.POSITIVE_INFINITY;
      f.historyUntil = Number.POSITIVE_INFINITY;
    });
    const ids = await busyOrders(merchantId, staff);
    expect((await merchantLog(merchantId)).length).toBe(6);
    const board = await api("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(board.body.orders.map((o: Order) => [o.id, o.status])).toEqual([[ids[0], "READY"]]);
    expect(await d1Version(ids[0]!)).toBeNull();
    expect(await orderStub(ids[0]!).getOrder()).toBeNull();
    // D1 waits for all 6 changes; each order waits in the order rooms' backlog.
    const outbox = await inMerchantRoom(merchantId, async (room) => (await room.ops()).outbox);
    expect(outbox.history).toMatchObject({ pending: 6, lastError: expect.stringMatching(/unreachable/) });
    expect(outbox["order-rooms"]).toMatchObject({ pending: 2, lastError: expect.stringMatching(/unreachable/) });

    faults.orderRoomUntil = 0; // the outage ends; the alarm delivers everything
    faults.historyUntil = 0;
    await waitConsistent(merchantId, ids, 45_000);
    await expectSameEverywhere(merchantId, ids);
  }, 90_000);

  it("in a rush D1 gets a batch per window and an order room one call per order's pending versions", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId); // counts calls only
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await placeOrder(merchantId)).id);
    const m = `/api/merchants/${merchantId}/orders`;
    for (const id of ids.slice(0, 10))
      expect((await api("POST", `${m}/${id}/accept`, { token: staff })).status).toBe(200);
    await waitConsistent(merchantId, ids);
    await expectSameEverywhere(merchantId, ids);
    const relayed = faults.calls.orderRoom.reduce((a, b) => a + b, 0);
    expect(relayed).toBeGreaterThanOrEqual(30); // every version reached its room…
    expect(faults.calls.orderRoom.length).toBeLessThanOrEqual(30); // …in at most one call per change
    expect(faults.calls.history.length).toBeLessThanOrEqual(15); // 30 changes (+ the merchant's settings)
  }, 60_000);

  it("the largest order the API accepts (100 items) reaches D1 (its lean row) and the history whole, and holds up nothing", async () => {
    const { merchantId, staff } = await setupMerchant();
    await injectFaults(merchantId); // none: relays at once
    const items = Array.from({ length: 100 }, (_, i) => ({
      name: `dish ${i}`,
      quantity: (i % 99) + 1,
      unitPriceCents: 100 + i,
      notes: `note ${i}`,
    }));
    const big = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId, items },
    });
    expect(big.status).toBe(201);
    const small = await placeOrder(merchantId);
    await waitConsistent(merchantId, [big.body.id, small.id]);
    expect(await historyRow(big.body.id)).toMatchObject({
      item_count: items.reduce((n, i) => n + i.quantity, 0),
      total_cents: big.body.totalCents,
    });
    const history = await api<{ orders: Order[] }>("GET", `/api/merchants/${merchantId}/orders?status=all`, {
      token: staff,
    });
    expect(history.body.orders.find((o) => o.id === big.body.id)?.items).toEqual(items);
    expect((await api<Order>("GET", `/api/orders/${big.body.id}`, { token: staff })).body.items).toEqual(items);
  }, 60_000);
});

describe("receivers progress independently", () => {
  it("with D1 down and 5,000 changes queued for it, a new change reaches the customer's socket in < 1 s; after recovery D1 has every change once", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => (f.historyUntil = Number.POSITIVE_INFINITY));
    const ids = await manyChanges(merchantId, 100, 48); // 100 × (place + accept + 48 updates) = 5,000
    // The order rooms are current (their relays never waited on D1's backlog)…
    await vi.waitFor(async () => expect(await orderStub(ids[99]!).getOrder()).toMatchObject({ version: 50 }), {
      timeout: 60_000,
      interval: 100,
    });
    const status = await inMerchantRoom(merchantId, async (room) => (await room.ops()).outbox);
    expect(status.history!.pending).toBeGreaterThanOrEqual(5_000);
    expect(status["order-rooms"]!.pending).toBe(0);
    expect(status.history!.lastError).toMatch(/unreachable/);

    // …so a fresh order's change reaches its customer at once.
    const fresh = await placeOrder(merchantId, await tokens.customer("cust-live"));
    const socket = await openOrderSocket(fresh.id, await tokens.customer("cust-live"));
    await socket.next((e) => e.event === "SNAPSHOT");
    const started = Date.now();
    expect((await api("POST", `/api/merchants/${merchantId}/orders/${fresh.id}/accept`, { token: staff })).status).toBe(
      200,
    );
    await socket.next((e) => e.event === "MERCHANT_ACCEPTED", 5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    socket.close();

    // D1 recovers: every change lands exactly once, in bounded batches.
    faults.historyUntil = 0;
    await drainAll(merchantId);
    // Every change reached D1: each order's row is at the room's version (versions only grow).
    const rows = await historyRowsOf(merchantId);
    expect(rows).toHaveLength(ids.length + 1);
    for (const row of rows) expect(row.version).toBe((await merchantStub(merchantId).getOrder(row.id))!.version);
    expect(Math.max(...faults.calls.history)).toBeLessThanOrEqual(100);
    for (const id of [ids[0]!, ids[99]!, fresh.id]) {
      expect(await d1Version(id)).toBe((await merchantStub(merchantId).getOrder(id))!.version);
    }
  }, 180_000);

  it("a backlog of 50,000 is read in bounded pieces: no statement of a delivery pass reads more than a batch", async () => {
    const { merchantId } = await setupMerchant();
    await injectFaults(merchantId, (f) => (f.historyUntil = Number.POSITIVE_INFINITY));
    await manyChanges(merchantId, 100, 498); // 100 × (place + accept + 498 updates) = 50,000
    const pass = await inMerchantRoom(merchantId, async (room, state) => {
      // Every statement the pass runs, with the rows SQLite read for it (rowsRead is final once
      // the room has consumed the cursor, which it has when the pass returns).
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      const ran: { query: string; cursor: { rowsRead: number } }[] = [];
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        const cursor = exec(query, ...bindings);
        ran.push({ query, cursor });
        return cursor;
      }) as typeof sql.exec;
      try {
        const { pending } = await room.deliverPending();
        return { pending, reads: ran.map(({ query, cursor }) => ({ query, rowsRead: cursor.rowsRead })) };
      } finally {
        sql.exec = exec;
      }
    });
    expect(pass.pending).toBeGreaterThanOrEqual(50_000);
    expect(pass.reads.length).toBeGreaterThan(0);
    const worst = pass.reads.reduce((a, b) => (b.rowsRead > a.rowsRead ? b : a));
    // The largest batch is the order rooms' 500 events; the history receiver reads 100 at a time.
    expect(worst.rowsRead, worst.query).toBeLessThanOrEqual(1_000);
  }, 240_000);

  it("with the order rooms down and 5,000 changes queued for them, D1 keeps up; after recovery each order room has every version once", async () => {
    const { merchantId } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => (f.orderRoomUntil = Number.POSITIVE_INFINITY));
    const ids = await manyChanges(merchantId, 100, 48);
    // D1 never waited on the order rooms: it has everything while they have nothing.
    await vi.waitFor(async () => expect(await d1Version(ids[99]!)).toBe(50), { timeout: 60_000, interval: 100 });
    const fresh = await placeOrder(merchantId);
    await vi.waitFor(async () => expect(await d1Version(fresh.id)).toBe(1), { timeout: 1_000, interval: 20 });
    expect(await orderStub(ids[0]!).getOrder()).toBeNull();
    const status = await inMerchantRoom(merchantId, async (room) => (await room.ops()).outbox);
    expect(status["order-rooms"]!.pending).toBeGreaterThanOrEqual(100); // one backlog entry per order
    expect(status["order-rooms"]!.lastError).toMatch(/unreachable/);

    faults.orderRoomUntil = 0;
    await drainAll(merchantId);
    for (const id of [ids[0]!, ids[50]!, ids[99]!]) {
      expect((await orderRoomLog(id)).map((e) => [e.seq, e.version])).toEqual(
        Array.from({ length: 50 }, (_, i) => [i + 1, i + 1]),
      );
    }
    // Every version went in one call per order (coalesced), not one call per change.
    expect(faults.calls.orderRoom.filter((n) => n >= 50).length).toBeGreaterThanOrEqual(100);
  }, 180_000);
});

describe("a change D1 can never take", () => {
  it("is found by halving the batch, parked with its error for operators, and never blocks the rest", async () => {
    const { merchantId, staff } = await setupMerchant();
    await injectFaults(merchantId, (f) => {
      f.poison = (batch) => batch.changes.some((c) => c.order.notes === "POISON");
    });
    const before = await Promise.all([placeOrder(merchantId), placeOrder(merchantId)]);
    const poisoned = await api<Order>("POST", "/api/orders", {
      token: await tokens.customer(),
      body: { merchantId, items: [{ name: "Soup", quantity: 1, unitPriceCents: 700 }], notes: "POISON" },
    });
    expect(poisoned.status).toBe(201);
    const after = await placeOrder(merchantId);
    await api("POST", `/api/merchants/${merchantId}/orders/${after.id}/accept`, { token: staff });
    await vi.waitFor(
      async () => {
        await merchantStub(merchantId).deliverPending();
        for (const o of [...before, after]) expect(await d1Version(o.id)).toBe(o.id === after.id ? 2 : 1);
        const ops = await inMerchantRoom(merchantId, (room) => room.ops());
        expect(ops.parked).toEqual([
          expect.objectContaining({
            receiver: "history",
            orderId: poisoned.body.id,
            error: expect.stringMatching(/refuses/),
          }),
        ]);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(await d1Version(poisoned.body.id)).toBeNull();
    // The customer's view never depended on D1.
    expect((await orderStub(poisoned.body.id).getOrder())?.version).toBe(1);
  }, 60_000);
});

describe("the kitchen is told when customers' views fall behind", () => {
  it("a DELIVERY_STATUS when relays to order rooms back up past 5 s, and again when they catch up; SNAPSHOT carries it", async () => {
    const { merchantId, staff } = await setupMerchant();
    const faults = await injectFaults(merchantId, (f) => (f.orderRoomUntil = Number.POSITIVE_INFINITY));
    const screen = await openMerchantSocket(merchantId, staff);
    await placeOrder(merchantId);
    await advanceRoomClock(merchantId, 6_000);
    await merchantStub(merchantId).deliverPending();
    const behind = await screen.next((e) => e.event === "DELIVERY_STATUS", 5_000);
    expect(behind).toMatchObject({ payload: { customersBehind: true } });
    expect(behind.seq).toBeUndefined();
    const late = await openMerchantSocket(merchantId, staff);
    expect(late.envelopes[0].payload.delivery).toMatchObject({ customersBehind: true });

    faults.orderRoomUntil = 0;
    await merchantStub(merchantId).deliverPending();
    await screen.until((envs) => envs.filter((e) => e.event === "DELIVERY_STATUS").length === 2, 5_000, "caught up");
    expect(screen.envelopes.filter((e) => e.event === "DELIVERY_STATUS").at(-1)).toMatchObject({
      payload: { customersBehind: false, pending: 0 },
    });
    checkAndClose("merchant", screen, late);
  });
});
