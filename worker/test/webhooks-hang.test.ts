/**
 * A webhook endpoint that never answers must not slow the kitchen or the customer: the same
 * changes are timed, interleaved, at a merchant whose subscription's endpoint answers at once and
 * at one whose endpoint hangs (each attempt held until the room's 5 s timeout). The kitchen
 * screen's event and the customer's order-room event must arrive as fast at both, well inside the
 * time one hung attempt takes.
 */
import { describe, expect, it, vi } from "vitest";
import type { Order } from "../../schema/index.ts";
import { serveWebhooks, subscribe, TestEndpoint } from "./webhook-support.ts";
import { WEBHOOK_TIMEOUT_MS } from "../rooms/delivery/webhook-receiver.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { inMerchantRoom } from "./support/room-seams.ts";
import { openMerchantSocket, openOrderSocket, type TestSocket } from "./support/sockets.ts";

const CHANGES = 12;

interface Kitchen {
  merchantId: string;
  staff: string;
  order: Order;
  screen: TestSocket;
  phone: TestSocket;
  endpoint: TestEndpoint;
  toScreen: number[];
  toPhone: number[];
}

async function kitchen(endpoint: TestEndpoint): Promise<Kitchen> {
  const { merchantId, staff } = await setupMerchant();
  await serveWebhooks(merchantId, endpoint);
  await subscribe([merchantId]);
  await merchantStub(merchantId).deliverPending(); // the room learns of it now (else within its 10 s cache)
  const customer = await tokens.customer(`hang-${merchantId}`);
  const order = await placeOrder(merchantId, customer);
  await vi.waitFor(async () => expect(await orderStub(order.id).getOrder()).not.toBeNull(), { timeout: 10_000 });
  const screen = await openMerchantSocket(merchantId, staff);
  const phone = await openOrderSocket(order.id, customer);
  return { merchantId, staff, order, screen, phone, endpoint, toScreen: [], toPhone: [] };
}

/** Change number `i` of the kitchen's order (accept, then prep-time updates), timed to both sockets. */
async function timedChange(k: Kitchen, i: number): Promise<void> {
  const m = `/api/merchants/${k.merchantId}/orders/${k.order.id}`;
  const version = i + 2;
  const started = Date.now();
  const atScreen = k.screen.next((e) => e.payload?.order?.version === version, 10_000).then(() => Date.now() - started);
  const atPhone = k.phone.next((e) => e.payload?.order?.version === version, 10_000).then(() => Date.now() - started);
  const res =
    i === 0
      ? await api("POST", `${m}/accept`, { token: k.staff, body: { prepMinutes: 10 } })
      : await api("POST", `${m}/prep-time`, { token: k.staff, body: { prepMinutes: 10 + i } });
  expect(res.status).toBe(200);
  k.toScreen.push(await atScreen);
  k.toPhone.push(await atPhone);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("a hanging webhook endpoint", () => {
  it("does not slow kitchen screens or customers' sockets (timed against a healthy run)", async () => {
    const healthy = await kitchen(new TestEndpoint());
    const hanging = new TestEndpoint();
    hanging.hang = true;
    const stuck = await kitchen(hanging);
    await vi.waitFor(() => expect(hanging.received.length).toBeGreaterThan(0)); // an attempt is hanging now

    for (let i = 0; i < CHANGES; i++) {
      await timedChange(healthy, i);
      await timedChange(stuck, i);
    }
    const report = (k: Kitchen) =>
      `screen median ${median(k.toScreen)} ms max ${Math.max(...k.toScreen)} ms, ` +
      `customer median ${median(k.toPhone)} ms max ${Math.max(...k.toPhone)} ms`;
    console.log(`[webhook hang] healthy endpoint: ${report(healthy)}`);
    console.log(`[webhook hang] hanging endpoint: ${report(stuck)}`);

    // The hanging endpoint really was holding its receiver meanwhile: no message of it went through.
    expect(hanging.acknowledged()).toHaveLength(0);
    const ops = await inMerchantRoom(stuck.merchantId, (room) => room.ops());
    const webhook = Object.entries(ops.outbox).find(([name]) => name.startsWith("webhook:"))![1];
    expect(webhook.pending).toBe(1 + CHANGES);
    expect(ops.outbox["order-rooms"]!.pending).toBe(0);
    expect(healthy.endpoint.acknowledged()).toHaveLength(1 + CHANGES);

    // As fast as the healthy kitchen (generous slack for a shared 2-core machine), and never
    // anywhere near one hung attempt.
    for (const [slow, fast] of [
      [stuck.toScreen, healthy.toScreen],
      [stuck.toPhone, healthy.toPhone],
    ] as const) {
      expect(median(slow)).toBeLessThanOrEqual(Math.max(3 * median(fast), median(fast) + 100));
      expect(Math.max(...slow)).toBeLessThan(WEBHOOK_TIMEOUT_MS / 2);
    }
    for (const k of [healthy, stuck]) {
      k.screen.close();
      k.phone.close();
    }
  }, 90_000);
});
