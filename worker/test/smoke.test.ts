import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { open } from "./support/sockets.ts";

it("health", async () => {
  const res = await exports.default.fetch("http://x/api/health");
  expect(await res.json()).toMatchObject({ ok: true });
});

it("place, accept over socket, customer sees it", async () => {
  const { merchantId, staff } = await setupMerchant();
  const screen = await open(`/ws/merchant/${merchantId}/orders`, { token: staff });
  const order = await placeOrder(merchantId);
  const customer = await open(`/ws/order/${order.id}`, { token: await tokens.customer() });
  await screen.next((e) => e.event === "ORDER_CREATED");
  screen.send({ action: "MERCHANT_ACCEPT", requestId: "r1", payload: { orderId: order.id, prepMinutes: 12 } });
  const ack = await screen.next((e) => e.event === "ACK");
  expect(ack.payload.order.status).toBe("ACCEPTED");
  const ev = await customer.next((e) => e.event === "MERCHANT_ACCEPTED");
  expect(ev.payload.merchantAction).toBe("ACCEPT");
  await flushOutbox(merchantId);
  expect((await orderStub(order.id).getOrder())?.version).toBe(2);
  const list = await api("GET", `/api/merchants/${merchantId}/orders?status=all`, { token: staff });
  expect(list.status).toBe(200);
  expect(list.body.orders[0].status).toBe("ACCEPTED");
  screen.close();
  customer.close();
});
