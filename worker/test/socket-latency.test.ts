/**
 * A measurement, not a gate: how long a MERCHANT_ACCEPT takes to come back as ACK to the screen
 * that sent it, and to reach the customer's order-room socket as MERCHANT_ACCEPTED, inside the
 * test pool (one workerd, real rooms, real outbox). Printed, never asserted: timings on a shared
 * 2-core machine say nothing reliable about correctness.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { merchantStub, placeOrder, setupMerchant, tokens } from "./helpers.ts";
import { act, checkFrames, openMerchantSocket, openOrderSocket, rid, streamCount, waitFor } from "./socket-helpers.ts";

const ITERATIONS = 200;

function summary(samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)} ms, mean ${mean.toFixed(2)} ms`;
}

describe("round trip", () => {
  it(`MERCHANT_ACCEPT → ACK and → customer's MERCHANT_ACCEPTED, over ${ITERATIONS} orders`, async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const orders: Array<{ order: Order; customer: string }> = [];
    for (let i = 0; i < ITERATIONS; i += 20) {
      orders.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, ITERATIONS - i) }, async (_, j) => {
            const customer = await tokens.customer(`lat-${i + j}`);
            return { order: await placeOrder(merchantId, customer), customer };
          }),
        )),
      );
    }
    // Every order's room holds its ORDER_CREATED before the clock starts.
    await waitFor(
      async () => (await merchantStub(merchantId).deliverPending()).pending === 0,
      60_000,
      "outbox drained",
    );

    const toAck: number[] = [];
    const toCustomer: number[] = [];
    for (const { order, customer } of orders) {
      const phone = await openOrderSocket(order.id, customer);
      const t0 = Date.now();
      const ackPromise = act(screen, "MERCHANT_ACCEPT", { orderId: order.id }, rid("lat")).then((ack) => ({
        ack,
        at: Date.now(),
      }));
      const eventPromise = streamCount(phone, 1).then((events) => ({ events, at: Date.now() }));
      const [{ ack, at: ackAt }, { events, at: eventAt }] = await Promise.all([ackPromise, eventPromise]);
      expect(ack.event).toBe("ACK");
      expect(events[0]).toMatchObject({
        event: "MERCHANT_ACCEPTED",
        payload: { merchantAction: "ACCEPT", order: { id: order.id } },
      });
      toAck.push(ackAt - t0);
      toCustomer.push(eventAt - t0);
      checkFrames(phone, "order");
      phone.close();
    }
    console.log(`[latency] ${ITERATIONS} accepts, send → ACK: ${summary(toAck)}`);
    console.log(`[latency] ${ITERATIONS} accepts, send → customer's MERCHANT_ACCEPTED: ${summary(toCustomer)}`);
    checkFrames(screen, "merchant");
    screen.close();
  }, 180_000);
});
