/**
 * End to end against `wrangler dev` (the suite's one Worker): a small Node receiver on loopback,
 * subscribed to one merchant by the platform role, sees the whole life of an order the platform
 * placed — every change, once, in order, each signed so that the Standard Webhooks package's own
 * verifier accepts it — and the deliveries log says each was delivered.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall, devToken } from "../src/api.ts";
import {
  CreatedWebhookSchema,
  OrderSchema,
  WebhookDeliveriesResponseSchema,
  WebhookPayloadSchema,
} from "../../schema/index.ts";
import { client, merchantPost, newMerchantWithId, SAMPLE_ITEMS, uniqueId } from "./helpers.ts";

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("webhooks end to end", () => {
  it("a loopback receiver sees the whole life of an order placed by the platform, signed", async () => {
    const api = client();
    const platform = await devToken(api, { role: "platform", sub: "e2e-platform" });
    const merchantId = uniqueId("m");
    const { port } = server.address() as AddressInfo;
    const webhook = await apiCall(api, "POST", "/api/webhooks", {
      token: platform,
      body: { url: `http://127.0.0.1:${port}/hooks`, merchantIds: [merchantId] },
      schema: CreatedWebhookSchema,
    });
    await newMerchantWithId(merchantId, "Webhook Kitchen");

    const order = await apiCall(api, "POST", "/api/orders", {
      token: platform,
      body: { merchantId, items: SAMPLE_ITEMS, customerId: "e2e-cust", externalId: uniqueId("ext"), paid: true },
      schema: OrderSchema,
    });
    await merchantPost(merchantId, order.id, "accept", { prepMinutes: 12 });
    await merchantPost(merchantId, order.id, "preparing");
    const o = `/api/orders/${order.id}`;
    await apiCall(api, "POST", `${o}/driver`, { token: platform, body: { driverId: "e2e-driver", name: "Dee" } });
    await apiCall(api, "POST", `${o}/arrived`, { token: platform });
    await merchantPost(merchantId, order.id, "ready");
    await apiCall(api, "POST", `${o}/pickup`, { token: platform });
    await apiCall(api, "POST", `${o}/deliver`, { token: platform });

    const lifecycle = [
      "ORDER_CREATED",
      "MERCHANT_ACCEPTED",
      "MERCHANT_PREPARING",
      "DRIVER_ASSIGNED",
      "DRIVER_ARRIVED",
      "MERCHANT_READY",
      "ORDER_PICKED_UP",
      "ORDER_DELIVERED",
    ];
    await waitFor(() => deliveries.length >= lifecycle.length, 30_000, "every webhook");
    const verifier = new Webhook(webhook.secret);
    const payloads = deliveries.map((d) => {
      const verified = verifier.verify(d.body, d.headers as Record<string, string>);
      return WebhookPayloadSchema.parse(verified);
    });
    expect(payloads.map((p) => p.type)).toEqual(lifecycle);
    expect(payloads.map((p) => p.data.seq)).toEqual(lifecycle.map((_, i) => i + 1));
    expect(deliveries.map((d) => d.headers["webhook-id"])).toEqual(lifecycle.map((_, i) => `${merchantId}:${i + 1}`));
    const versions = payloads.map((p) => OrderSchema.parse(p.data.order).version);
    expect(versions).toEqual(lifecycle.map((_, i) => i + 1));
    expect(OrderSchema.parse(payloads.at(-1)!.data.order)).toMatchObject({ id: order.id, status: "DELIVERED" });

    // The deliveries log agrees (reports reach the registry a moment after the POSTs).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const log = await apiCall(api, "GET", `/api/webhooks/${webhook.id}/deliveries`, {
        token: platform,
        schema: WebhookDeliveriesResponseSchema,
      });
      const done = log.deliveries.filter((d) => d.status === "delivered" && d.lastStatusCode === 204);
      if (done.length === lifecycle.length) break;
      if (Date.now() > deadline) throw new Error(`deliveries log: ${JSON.stringify(log)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
