/**
 * What happens when an endpoint stays down: each event is retried for 24 h from its first
 * failure (the room's clock is moved, not slept), then given up on — parked, reported failing, the
 * subscription failing at that merchant (GET /api/webhooks/:id and the merchant's ops() say so) —
 * and later events get one attempt each until one goes through. And redelivery: the owner moves
 * the subscription's cursor back within what the room keeps.
 */
import { describe, expect, it } from "vitest";
import type { Webhook } from "../../schema/index.ts";
import { WEBHOOK_RETRY_MS } from "../rooms/delivery/webhook-receiver.ts";
import { deliveriesOf, drain, platformToken, serveWebhooks, subscribe, TestEndpoint } from "./webhook-support.ts";
import { expectError } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { inMerchantRoom } from "./support/room-seams.ts";

async function setup() {
  const { merchantId, staff } = await setupMerchant({ acceptWindowSeconds: 3600 });
  const endpoint = new TestEndpoint();
  await serveWebhooks(merchantId, endpoint);
  const webhook = await subscribe([merchantId]);
  await merchantStub(merchantId).deliverPending();
  return { merchantId, staff, endpoint, webhook };
}

const moveClock = (merchantId: string, byMs: number) =>
  inMerchantRoom(merchantId, (room) => {
    room.clock = () => Date.now() + byMs;
  });

async function readWebhook(id: string): Promise<Webhook> {
  const res = await api<Webhook>("GET", `/api/webhooks/${id}`, { token: await platformToken() });
  expect(res.status).toBe(200);
  return res.body;
}

describe("an endpoint down for over 24 h", () => {
  it("is retried for 24 h, then the event is given up on and the subscription is failing, visibly, until a delivery goes through", async () => {
    const { merchantId, staff, endpoint, webhook } = await setup();
    endpoint.status = 500;
    const first = await placeOrder(merchantId);
    // Accepted, so moving the clock a day does not expire it (no other event joins the stream).
    const m = `/api/merchants/${merchantId}/orders/${first.id}`;
    expect((await api("POST", `${m}/accept`, { token: staff })).status).toBe(200);
    await merchantStub(merchantId).deliverPending();
    await moveClock(merchantId, WEBHOOK_RETRY_MS - 60_000); // a minute short of a day: still retrying
    await merchantStub(merchantId).deliverPending();
    expect(new Set(endpoint.received.map((r) => r.id))).toEqual(new Set([`${merchantId}:1`]));
    expect((await readWebhook(webhook.id)).status).toBe("active");
    let ops = await inMerchantRoom(merchantId, (room) => room.ops());
    expect(ops.outbox[`webhook:${webhook.id}`]).toMatchObject({ pending: 2, lastError: "HTTP 500" });
    expect(ops.outbox[`webhook:${webhook.id}`]!.failingSince).toBeUndefined();

    await moveClock(merchantId, WEBHOOK_RETRY_MS + 60_000); // past the day: given up on
    await drain(merchantId);
    const attempts = endpoint.received.length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    ops = await inMerchantRoom(merchantId, (room) => room.ops());
    const status = ops.outbox[`webhook:${webhook.id}`]!;
    expect(status.pending).toBe(0);
    expect(status.failingSince).toBeDefined();
    // The event after it got one attempt (the subscription is failing here now), and was given up on too.
    expect(ops.parked.filter((p) => p.receiver === `webhook:${webhook.id}`)).toEqual([
      expect.objectContaining({ seq: 2, orderId: first.id, error: "given up: HTTP 500" }),
      expect.objectContaining({ seq: 1, orderId: first.id, error: "given up: HTTP 500" }),
    ]);
    expect(endpoint.received.filter((r) => r.id === `${merchantId}:2`)).toHaveLength(1);
    await expect
      .poll(async () => (await readWebhook(webhook.id)).failing)
      .toEqual([{ merchantId, since: status.failingSince, lastError: "HTTP 500" }]);
    expect((await readWebhook(webhook.id)).status).toBe("failing");
    const log = await deliveriesOf(webhook.id);
    expect(log.map((d) => [d.seq, d.status, d.lastStatusCode])).toEqual([
      [2, "failing", 500],
      [1, "failing", 500],
    ]);

    // While failing, a new event gets one attempt; once one goes through, it is healthy again.
    await placeOrder(merchantId);
    await drain(merchantId);
    expect(endpoint.received.filter((r) => r.id === `${merchantId}:3`)).toHaveLength(1);
    endpoint.status = 200;
    await placeOrder(merchantId);
    await drain(merchantId);
    expect(endpoint.acknowledged().map((r) => r.id)).toEqual([`${merchantId}:4`]);
    ops = await inMerchantRoom(merchantId, (room) => room.ops());
    expect(ops.outbox[`webhook:${webhook.id}`]!.failingSince).toBeUndefined();
    await expect.poll(async () => (await readWebhook(webhook.id)).status).toBe("active");
  }, 60_000);
});

describe("redeliver", () => {
  it("sends every event after sinceSeq again, with the same webhook-ids and bodies", async () => {
    const { merchantId, endpoint, webhook } = await setup();
    for (let i = 0; i < 3; i++) await placeOrder(merchantId);
    await drain(merchantId);
    expect(endpoint.acknowledged().map((r) => r.payload.data.seq)).toEqual([1, 2, 3]);
    const res = await api("POST", `/api/webhooks/${webhook.id}/redeliver`, {
      token: await platformToken(),
      body: { merchantId, sinceSeq: 1 },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: webhook.id, merchantId, sinceSeq: 1 });
    await drain(merchantId);
    const acked = endpoint.acknowledged();
    expect(acked.map((r) => r.payload.data.seq)).toEqual([1, 2, 3, 2, 3]);
    expect(acked.slice(3).map((r) => [r.id, r.body])).toEqual(acked.slice(1, 3).map((r) => [r.id, r.body]));
  });

  it("is refused outside what the room keeps, for merchants the subscription does not cover, and for others' subscriptions", async () => {
    const { merchantId, webhook } = await setup();
    for (let i = 0; i < 3; i++) await placeOrder(merchantId);
    const path = `/api/webhooks/${webhook.id}/redeliver`;
    const token = await platformToken();
    expectError(await api("POST", path, { token, body: { merchantId, sinceSeq: 4 } }), 400, "BAD_REQUEST");
    // As if pruned: the room keeps seq 3 on only.
    await inMerchantRoom(merchantId, (_room, state) => state.storage.sql.exec(`DELETE FROM events WHERE seq < 3`));
    const gone = expectError(await api("POST", path, { token, body: { merchantId, sinceSeq: 1 } }), 409, "CONFLICT");
    expect(gone.message).toMatch(/before seq 3/);
    expect((await api("POST", path, { token, body: { merchantId, sinceSeq: 2 } })).status).toBe(202);

    const other = await setupMerchant();
    const uncovered = { merchantId: other.merchantId, sinceSeq: 0 };
    expectError(await api("POST", path, { token, body: uncovered }), 400, "BAD_REQUEST");
    const stranger = await platformToken("platform-2");
    expectError(await api("POST", path, { token: stranger, body: { merchantId, sinceSeq: 0 } }), 404, "NOT_FOUND");
    const dispatch = await tokens.dispatch();
    expectError(await api("POST", path, { token: dispatch, body: { merchantId, sinceSeq: 0 } }), 404, "NOT_FOUND");
  });
});
