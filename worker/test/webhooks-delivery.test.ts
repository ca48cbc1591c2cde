/**
 * Webhook delivery from the merchant room's log: at least once, in order per order, the same
 * webhook-id (and body) on every retry, retried by the room's own alarm with backoff — and one
 * subscription's dead endpoint delays nothing else: not another subscription, not the order
 * rooms, not D1. Endpoints are served inside the test (webhook-support.ts).
 */
import { describe, expect, it, vi } from "vitest";
import type { Order } from "../../schema/index.ts";
import { deliveriesOf, drain, serveWebhooks, subscribe, TestEndpoint } from "./webhook-support.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { historyRow } from "./support/history.ts";
import { api } from "./support/http.ts";
import { inMerchantRoom, merchantLog } from "./support/room-seams.ts";

/** Two orders through most of their lives, interleaved: 10 stream events. */
async function twoBusyOrders(merchantId: string, staff: string): Promise<Order[]> {
  const a = await placeOrder(merchantId);
  const b = await placeOrder(merchantId, await tokens.customer("cust-2"));
  const m = (o: Order, action: string) => `/api/merchants/${merchantId}/orders/${o.id}/${action}`;
  const ok = async (path: string, token: string, body: unknown = {}) =>
    expect((await api("POST", path, { token, body })).status, path).toBe(200);
  await ok(m(a, "accept"), staff);
  await ok(m(b, "accept"), staff);
  await ok(m(a, "preparing"), staff);
  await ok(`/api/orders/${a.id}/driver`, await tokens.dispatch(), DRIVER);
  await ok(m(b, "ready"), staff);
  await ok(m(a, "ready"), staff);
  await ok(`/api/orders/${a.id}/pickup`, await tokens.driver());
  await ok(`/api/orders/${a.id}/deliver`, await tokens.driver());
  return [a, b];
}

/** Every event of the log acknowledged exactly once, and the attempts never went back in seq. */
async function expectEachEventOnceInOrder(merchantId: string, endpoint: TestEndpoint): Promise<void> {
  const log = await merchantLog(merchantId);
  const acked = endpoint.acknowledged();
  expect(acked.map((r) => r.id)).toEqual(log.map((e) => `${merchantId}:${e.seq}`));
  expect(acked.map((r) => r.payload.type)).toEqual(log.map((e) => e.event));
  const seqs = endpoint.received.map((r) => r.payload.data.seq);
  expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  // Per order: its versions arrive in order.
  for (const orderId of new Set(log.map((e) => e.orderId))) {
    const versions = acked
      .filter((r) => r.payload.data.order?.id === orderId)
      .map((r) => r.payload.data.order!.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  }
}

describe("webhook delivery", () => {
  it("an endpoint that fails 5 times then recovers gets every event once per webhook-id, in order per order (the alarm retries)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const endpoint = new TestEndpoint();
    endpoint.failNext = 5;
    await serveWebhooks(merchantId, endpoint);
    const webhook = await subscribe([merchantId]);
    await merchantStub(merchantId).deliverPending();
    await twoBusyOrders(merchantId, staff);

    // No forced flush: the room's alarm retries with backoff (250 ms doubling: ≈ 8 s for 5 failures).
    await vi.waitFor(() => expect(endpoint.acknowledged()).toHaveLength(10), { timeout: 30_000, interval: 100 });
    await expectEachEventOnceInOrder(merchantId, endpoint);

    // The 5 failed attempts and the retry that went through are one message: same id, same body.
    const first = endpoint.received.slice(0, 6);
    expect(first.map((r) => r.answered)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(new Set(first.map((r) => r.id)).size).toBe(1);
    expect(new Set(first.map((r) => r.body)).size).toBe(1);
    expect(endpoint.received).toHaveLength(15);

    // The deliveries log: every message delivered, the first after 6 attempts, newest first.
    await vi.waitFor(async () => {
      const log = await deliveriesOf(webhook.id);
      expect(log).toHaveLength(10);
      expect(log.every((d) => d.status === "delivered" && d.lastStatusCode === 200)).toBe(true);
      expect(log.at(-1)).toMatchObject({ messageId: `${merchantId}:1`, attempts: 6, event: "ORDER_CREATED" });
      expect(log.slice(0, -1).every((d) => d.attempts === 1)).toBe(true);
      expect(log[0]!.seq).toBe(10);
      expect(typeof log[0]!.latencyMs).toBe("number");
    });
  }, 60_000);

  it("a dead endpoint delays nothing else: another subscription, the order rooms and D1 stay current", async () => {
    const { merchantId, staff } = await setupMerchant();
    const dead = new TestEndpoint();
    dead.status = 500;
    const healthy = new TestEndpoint();
    await serveWebhooks(merchantId, { "https://dead.example/hook": dead, "https://ok.example/hook": healthy });
    const deadHook = await subscribe([merchantId], { url: "https://dead.example/hook" });
    await subscribe([merchantId], { url: "https://ok.example/hook" });
    await merchantStub(merchantId).deliverPending();
    const orders = await twoBusyOrders(merchantId, staff);

    await vi.waitFor(
      async () => {
        expect(healthy.acknowledged()).toHaveLength(10);
        for (const o of orders) {
          const truth = (await merchantStub(merchantId).getOrder(o.id))!;
          expect((await orderStub(o.id).getOrder())?.version).toBe(truth.version);
          expect((await historyRow(o.id))?.version).toBe(truth.version);
        }
      },
      { timeout: 15_000, interval: 100 },
    );
    await expectEachEventOnceInOrder(merchantId, healthy);
    // The dead one is still at its first event, retrying, and operators can see it.
    expect(new Set(dead.received.map((r) => r.id))).toEqual(new Set([`${merchantId}:1`]));
    const ops = await inMerchantRoom(merchantId, (room) => room.ops());
    expect(ops.outbox[`webhook:${deadHook.id}`]).toMatchObject({ pending: 10, lastError: "HTTP 500" });
    expect(ops.outbox["order-rooms"]!.pending).toBe(0);
    expect(ops.outbox.history!.pending).toBe(0);
  }, 60_000);

  it("a subscription made while a room trusts its cached list gets the next event within that cache's 10 s, with no later change to carry it", async () => {
    const { merchantId } = await setupMerchant();
    const endpoint = new TestEndpoint();
    await serveWebhooks(merchantId, endpoint);
    await placeOrder(merchantId);
    await merchantStub(merchantId).deliverPending(); // the room has just asked the registry: nothing
    await subscribe([merchantId]);
    const order = await placeOrder(merchantId); // its delivery still trusts the cached answer
    await vi.waitFor(() => expect(endpoint.received.length).toBeGreaterThan(0), { timeout: 15_000, interval: 200 });
    expect(endpoint.received.map((r) => [r.payload.type, r.payload.data.order?.id])).toEqual([
      ["ORDER_CREATED", order.id],
    ]);
  }, 30_000);

  it("delivers only what the subscription asks for: its merchants, its events, from its creation on, until removed", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await setupMerchant();
    const endpoint = new TestEndpoint();
    await serveWebhooks(merchantId, endpoint);
    await serveWebhooks(other.merchantId, endpoint);
    const before = await placeOrder(merchantId); // committed before the subscription: never delivered
    const webhook = await subscribe([merchantId], { events: ["MERCHANT_ACCEPTED", "ORDER_CANCELLED"] });
    await placeOrder(other.merchantId); // another merchant: not covered
    const m = `/api/merchants/${merchantId}/orders/${before.id}`;
    expect((await api("POST", `${m}/accept`, { token: staff })).status).toBe(200);
    const later = await placeOrder(merchantId); // ORDER_CREATED: not asked for
    await drain(merchantId);
    await drain(other.merchantId);
    expect(endpoint.received.map((r) => [r.payload.type, r.payload.data.order?.id])).toEqual([
      ["MERCHANT_ACCEPTED", before.id],
    ]);

    const removed = await api("DELETE", `/api/webhooks/${webhook.id}`, { token: await tokens.platform() });
    expect(removed.status).toBe(200);
    await merchantStub(merchantId).deliverPending(); // the room learns of it at once (else within its TTL)
    const dispatch = await tokens.dispatch();
    expect(
      (await api("POST", `/api/orders/${later.id}/cancel`, { token: dispatch, body: { reason: "x" } })).status,
    ).toBe(200);
    await drain(merchantId);
    expect(endpoint.received).toHaveLength(1);
    const ops = await inMerchantRoom(merchantId, (room) => room.ops());
    expect(Object.keys(ops.outbox).sort()).toEqual(["history", "order-rooms"]);
  }, 60_000);
});
