/**
 * An order room nobody watches is not woken for every change (issue 15): its changes wait up to
 * the room's relayQuietMs and then go in one call; a watched order's changes and an order's final
 * change go at once. Nothing is lost on the way: the order room's log is still every version, in
 * order, gap-free — across evictions, and whenever a watcher connects.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { faultyTargets, noFaults } from "../rooms/delivery/faulty-targets.ts";
import type { Desk, DeskHooks } from "../rooms/merchant/desk.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { advanceRoomClock, inMerchantRoom, orderLog, setRelayQuietMs } from "./support/room-seams.ts";
import { openOrderSocket } from "./support/sockets.ts";

const QUIET_MS = 30_000;

/** A merchant whose room lets unwatched orders wait QUIET_MS, with relay calls counted. */
async function quietMerchant() {
  const m = await setupMerchant();
  await setRelayQuietMs(m.merchantId, QUIET_MS);
  const faults = await inMerchantRoom(m.merchantId, (room) => {
    const f = noFaults();
    room.deliveryTargets = faultyTargets(room.deliveryTargets, f, () => room.clock());
    return f;
  });
  return { ...m, relayCalls: () => faults.calls.orderRoom };
}

const versions = async (orderId: string) => (await orderLog(orderId)).map((e) => [e.seq, e.version]);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => [i + 1, i + 1]);

describe("relays to order rooms nobody watches", () => {
  it("wait, then carry every pending version in one call; the room's log is gap-free", async () => {
    const { merchantId, staff, relayCalls } = await quietMerchant();
    const order = await placeOrder(merchantId);
    const m = `/api/merchants/${merchantId}/orders/${order.id}`;
    expect((await api("POST", `${m}/accept`, { token: staff })).status).toBe(200);
    expect((await api("POST", `${m}/preparing`, { token: staff })).status).toBe(200);
    await runDurableObjectAlarm(merchantStub(merchantId)); // nothing is due yet
    expect(relayCalls()).toEqual([]);
    expect(await orderStub(order.id).getOrder()).toBeNull();

    await advanceRoomClock(merchantId, QUIET_MS + 1);
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(relayCalls()).toEqual([3]); // one call, three versions
    expect(await versions(order.id)).toEqual(oneToN(3));
  });

  it("changes whose time comes close together go in one pass, not an alarm each", async () => {
    const { merchantId, relayCalls } = await quietMerchant();
    const orders = [];
    for (let i = 0; i < 5; i++) {
      orders.push(await placeOrder(merchantId));
      await advanceRoomClock(merchantId, 1_000); // five placements over five seconds
    }
    await advanceRoomClock(merchantId, QUIET_MS - 5_000 + 1); // the first one's time has come
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(relayCalls()).toEqual([1, 1, 1, 1, 1]);
    for (const o of orders) expect(await versions(o.id)).toEqual(oneToN(1));
  });

  it("a final change goes at once, with the versions before it", async () => {
    const { merchantId, staff, relayCalls } = await quietMerchant();
    const order = await placeOrder(merchantId);
    const m = `/api/merchants/${merchantId}/orders/${order.id}`;
    expect((await api("POST", `${m}/reject`, { token: staff, body: { reason: "closed" } })).status).toBe(200);
    await merchantStub(merchantId).deliverPending();
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(relayCalls()).toEqual([2]);
    expect((await orderStub(order.id).getOrder())?.status).toBe("REJECTED");
  });

  it("a watcher connecting mid-rush gets the order as it is, then every change at once", async () => {
    const { merchantId, staff } = await quietMerchant();
    const customer = await tokens.customer("cust-quiet");
    const orders = [await placeOrder(merchantId, customer), await placeOrder(merchantId, customer)];
    const [watched, other] = orders.map((o) => o.id) as [string, string];
    await api("POST", `/api/merchants/${merchantId}/orders/${watched}/accept`, { token: staff });
    // Connecting asks the merchant room to deliver: the snapshot is the order as it is now.
    const phone = await openOrderSocket(watched, customer);
    expect(phone.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: 2, payload: { order: { version: 2 } } });
    const started = Date.now();
    await api("POST", `/api/merchants/${merchantId}/orders/${watched}/preparing`, { token: staff });
    await phone.next((e) => e.event === "MERCHANT_PREPARING", 5_000);
    expect(Date.now() - started).toBeLessThan(QUIET_MS / 10);
    // The other order, unwatched and placed before, waits (it was caught up by the connect's
    // delivery); its next change does not go until the quiet period ends.
    await api("POST", `/api/merchants/${merchantId}/orders/${other}/accept`, { token: staff });
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect((await orderStub(other).getOrder())?.version).toBe(1);
    phone.close();
  });

  it("stay watched across an eviction of the merchant room; unwatched ones are still delivered after it", async () => {
    const { merchantId, staff } = await quietMerchant();
    const customer = await tokens.customer("cust-evict");
    const watched = await placeOrder(merchantId, customer);
    const unwatched = await placeOrder(merchantId);
    const phone = await openOrderSocket(watched.id, customer);
    await api("POST", `/api/merchants/${merchantId}/orders/${unwatched.id}/accept`, { token: staff });

    await evictDurableObject(merchantStub(merchantId));
    await setRelayQuietMs(merchantId, QUIET_MS); // a fresh instance
    const started = Date.now();
    await api("POST", `/api/merchants/${merchantId}/orders/${watched.id}/accept`, { token: staff });
    await phone.next((e) => e.event === "MERCHANT_ACCEPTED", 5_000);
    expect(Date.now() - started).toBeLessThan(QUIET_MS / 10);

    // The unwatched order's changes were only waiting: the room's alarm delivers them all.
    await advanceRoomClock(merchantId, QUIET_MS + 1);
    await runDurableObjectAlarm(merchantStub(merchantId));
    expect(await versions(unwatched.id)).toEqual(oneToN(2));
    expect(await versions(watched.id)).toEqual(oneToN(2));
    phone.close();
  });

  it("POST /api/dev/deliver (the bench, between scenarios) relays what waits, now; refusals are the contract's", async () => {
    const { merchantId, staff, relayCalls } = await quietMerchant();
    const order = await placeOrder(merchantId);
    const dispatch = await tokens.dispatch();
    const deliver = (token: string, body: unknown) => api("POST", "/api/dev/deliver", { token, body });
    expectError(await deliver(staff, { merchantId }), 403, "FORBIDDEN", "a merchant");
    expectZod400(await deliver(dispatch, {}), ["merchantId"]);
    expectError(await deliver(dispatch, { merchantId: "no-such-merchant" }), 404, "NOT_FOUND", "unknown merchant");
    expect(relayCalls()).toEqual([]);

    const res = await deliver(dispatch, { merchantId });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ pending: 0 });
    expect(relayCalls()).toEqual([1]);
    expect(await versions(order.id)).toEqual(oneToN(1));
  });

  it("while relays wait, a commit reads only what came since, not the waiting stretch of the log again", async () => {
    const { merchantId, relayCalls } = await quietMerchant();
    // Counts the events the room's receivers read from its log (the order rooms' and D1's).
    await inMerchantRoom(merchantId, (room) => {
      const log = (room as unknown as { desk: { h: DeskHooks } }).desk.h.log;
      const range = log.range.bind(log);
      const counted = room as unknown as { eventsRead: number };
      counted.eventsRead = 0;
      log.range = (since, limit) => {
        const events = range(since, limit);
        counted.eventsRead += events.length;
        return events;
      };
    });
    const flush = () => inMerchantRoom(merchantId, (room) => (room as unknown as { desk: Desk }).desk.delivery.flush());
    const eventsRead = () =>
      inMerchantRoom(merchantId, (room) => (room as unknown as { eventsRead: number }).eventsRead);
    const orders = [];
    for (let i = 0; i < 40; i++) {
      orders.push(await placeOrder(merchantId));
      await flush();
    }
    // 40 commits, each looked at by two receivers: about 80 reads, not 40 × 41 / 2 for the waiting ones.
    expect(await eventsRead()).toBeLessThan(200);
    expect(relayCalls()).toEqual([]);
    // Nothing was skipped: when the wait is over, every order's room gets its version.
    await advanceRoomClock(merchantId, QUIET_MS + 1);
    await runDurableObjectAlarm(merchantStub(merchantId));
    for (const o of orders) expect(await versions(o.id)).toEqual(oneToN(1));
  });
});
