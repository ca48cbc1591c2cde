/**
 * The platform role (Additions v2) on every REST route and socket path: what dispatch may do,
 * placing orders for a customer and managing webhooks — allowed; nothing a kitchen does — 403.
 * One row per route; the table is checked against the app's own route list, so a route added
 * later without a row here fails this test. Webhooks go to an endpoint inside the test.
 */
import { describe, expect, it } from "vitest";
import type { CreatedWebhook, Order, OrderStatus } from "../../schema/index.ts";
import { app } from "../app.ts";
import { serveWebhooks, TestEndpoint } from "./webhook-support.ts";
import { expectError } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, ITEMS, orderIn, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, uniqueId } from "./support/http.ts";
import { connect } from "./support/sockets.ts";

interface Fixture {
  merchantId: string;
  order: (status?: OrderStatus | "ARRIVABLE") => Promise<Order>;
  externalId: string;
  webhook: () => Promise<CreatedWebhook>;
}

interface Row {
  /** As the app registers it: method and path pattern. */
  route: string;
  /** The status a platform gets (a 2xx: allowed; 403: refused). */
  status: number;
  request: (f: Fixture) => Promise<{ path: string; body?: unknown; auth?: false }>;
}

const M = "/api/merchants/:merchantId";
const O = "/api/orders/:orderId";
const kitchen = (action: string, body: unknown = {}): Row => ({
  route: `POST ${M}/orders/:orderId/${action}`,
  status: 403,
  request: async (f) => ({
    path: `/api/merchants/${f.merchantId}/orders/${(await f.order()).id}/${action.replace(":index", "0")}`,
    body,
  }),
});

const ROWS: Row[] = [
  { route: "GET /api/health", status: 200, request: async () => ({ path: "/api/health" }) },
  {
    route: "POST /api/dev/token",
    status: 200,
    request: async () => ({ path: "/api/dev/token", body: { role: "platform", sub: "p-1" }, auth: false }),
  },
  // A chaos tool for whoever runs `npm run chaos` locally (dispatch), not part of a platform's job.
  {
    route: "POST /api/dev/faults",
    status: 403,
    request: async (f) => ({ path: "/api/dev/faults", body: { merchantId: f.merchantId, failProjectionForMs: 1 } }),
  },
  // The bench's step between scenarios (dispatch), likewise.
  {
    route: "POST /api/dev/deliver",
    status: 403,
    request: async (f) => ({ path: "/api/dev/deliver", body: { merchantId: f.merchantId } }),
  },
  {
    route: `PUT ${M}`,
    status: 201,
    request: async () => ({ path: `/api/merchants/${uniqueId("m")}`, body: { name: "P" } }),
  },
  { route: `GET ${M}`, status: 200, request: async (f) => ({ path: `/api/merchants/${f.merchantId}` }) },
  {
    route: `PUT ${M}/availability`,
    status: 200,
    request: async (f) => ({
      path: `/api/merchants/${f.merchantId}/availability`,
      body: { mode: "BUSY", extraPrepMinutes: 5 },
    }),
  },
  {
    route: `GET ${M}/sold-out`,
    status: 200,
    request: async (f) => ({ path: `/api/merchants/${f.merchantId}/sold-out` }),
  },
  {
    route: `PUT ${M}/sold-out`,
    status: 200,
    request: async (f) => ({ path: `/api/merchants/${f.merchantId}/sold-out`, body: { items: [] } }),
  },
  { route: `GET ${M}/ops`, status: 200, request: async (f) => ({ path: `/api/merchants/${f.merchantId}/ops` }) },
  { route: `GET ${M}/orders`, status: 200, request: async (f) => ({ path: `/api/merchants/${f.merchantId}/orders` }) },
  {
    route: `GET ${M}/orders/by-external-id/:externalId`,
    status: 200,
    request: async (f) => ({ path: `/api/merchants/${f.merchantId}/orders/by-external-id/${f.externalId}` }),
  },
  {
    route: `POST ${M}/orders/bulk`,
    status: 403,
    request: async (f) => ({
      path: `/api/merchants/${f.merchantId}/orders/bulk`,
      body: { action: "accept", orderIds: [(await f.order()).id] },
    }),
  },
  kitchen("accept", { prepMinutes: 10 }),
  kitchen("reject", { reason: "no" }),
  kitchen("preparing"),
  kitchen("ready"),
  kitchen("prep-time", { prepMinutes: 12 }),
  kitchen("adjust", { changes: [{ index: 0, quantity: 1 }], reason: "short" }),
  kitchen("items/:index/done", { done: true }),
  kitchen("recall"),
  {
    route: "POST /api/orders",
    status: 201,
    request: async (f) => ({
      path: "/api/orders",
      body: { merchantId: f.merchantId, items: ITEMS, customerId: "cust-9", externalId: uniqueId("ext") },
    }),
  },
  { route: `GET ${O}`, status: 200, request: async (f) => ({ path: `/api/orders/${(await f.order()).id}` }) },
  {
    route: `GET ${O}/events`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order()).id}/events` }),
  },
  {
    route: `POST ${O}/cancel`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order("READY")).id}/cancel`, body: { reason: "courier" } }),
  },
  {
    route: `POST ${O}/driver`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order()).id}/driver`, body: DRIVER }),
  },
  {
    route: `POST ${O}/arrived`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order("ARRIVABLE")).id}/arrived` }),
  },
  {
    route: `POST ${O}/pickup`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order("READY")).id}/pickup` }),
  },
  {
    route: `POST ${O}/deliver`,
    status: 200,
    request: async (f) => ({ path: `/api/orders/${(await f.order("PICKED_UP")).id}/deliver` }),
  },
  {
    route: "POST /api/webhooks",
    status: 201,
    request: async (f) => ({
      path: "/api/webhooks",
      body: { url: "https://127.0.0.1:9/h", merchantIds: [f.merchantId] },
    }),
  },
  { route: "GET /api/webhooks", status: 200, request: async () => ({ path: "/api/webhooks" }) },
  {
    route: "GET /api/webhooks/:id",
    status: 200,
    request: async (f) => ({ path: `/api/webhooks/${(await f.webhook()).id}` }),
  },
  {
    route: "DELETE /api/webhooks/:id",
    status: 200,
    request: async (f) => ({ path: `/api/webhooks/${(await f.webhook()).id}` }),
  },
  {
    route: "POST /api/webhooks/:id/rotate-secret",
    status: 200,
    request: async (f) => ({ path: `/api/webhooks/${(await f.webhook()).id}/rotate-secret` }),
  },
  {
    route: "GET /api/webhooks/:id/deliveries",
    status: 200,
    request: async (f) => ({ path: `/api/webhooks/${(await f.webhook()).id}/deliveries` }),
  },
  {
    route: "POST /api/webhooks/:id/redeliver",
    status: 202,
    request: async (f) => ({
      path: `/api/webhooks/${(await f.webhook()).id}/redeliver`,
      body: { merchantId: f.merchantId, sinceSeq: 0 },
    }),
  },
  // Sign-in (Additions v2): a platform creates pairing codes and revokes devices, like dispatch.
  {
    route: `POST ${M}/pairing-codes`,
    status: 201,
    request: async (f) => ({ path: `/api/merchants/${f.merchantId}/pairing-codes` }),
  },
  {
    route: `GET ${M}/devices`,
    status: 200,
    request: async (f) => ({ path: `/api/merchants/${f.merchantId}/devices` }),
  },
  {
    route: `DELETE ${M}/devices/:deviceId`,
    status: 200,
    request: async (f) => ({
      path: `/api/merchants/${f.merchantId}/devices/${(await pairDevice(f.merchantId)).device.id}`,
    }),
  },
  // Anyone holding a code or a refresh token (no role involved): the platform may too.
  {
    route: "POST /api/pair",
    status: 200,
    request: async (f) => ({ path: "/api/pair", body: { code: await pairingCode(f.merchantId), deviceName: "P" } }),
  },
  {
    route: "POST /api/devices/refresh",
    status: 200,
    request: async (f) => ({
      path: "/api/devices/refresh",
      body: { refreshToken: (await pairDevice(f.merchantId)).refreshToken },
    }),
  },
  // A customer's orders across merchants (an addition): the platform reads them, as dispatch does.
  {
    route: "GET /api/customers/:customerId/orders",
    status: 200,
    request: async () => ({ path: "/api/customers/c-1/orders" }),
  },
  // Dev mode only: the bench's rows-written counters.
  { route: "GET /api/dev/rows-written", status: 200, request: async () => ({ path: "/api/dev/rows-written" }) },
];

async function fixture(): Promise<Fixture> {
  const { merchantId } = await setupMerchant();
  await serveWebhooks(merchantId, new TestEndpoint());
  const externalId = uniqueId("ext");
  const platform = await tokens.platform();
  const placed = await api<Order>("POST", "/api/orders", {
    token: platform,
    body: { merchantId, items: ITEMS, customerId: "cust-1", externalId },
  });
  expect(placed.status).toBe(201);
  return {
    merchantId,
    externalId,
    order: async (status = "PLACED") => {
      if (status !== "ARRIVABLE") return status === "PLACED" ? placeOrder(merchantId) : orderIn(merchantId, status);
      const accepted = await orderIn(merchantId, "ACCEPTED");
      const res = await api("POST", `/api/orders/${accepted.id}/driver`, {
        token: await tokens.dispatch(),
        body: DRIVER,
      });
      expect(res.status).toBe(200);
      return accepted;
    },
    webhook: async () => {
      const res = await api<CreatedWebhook>("POST", "/api/webhooks", {
        token: platform,
        body: { url: "https://127.0.0.1:9/h", merchantIds: [merchantId] },
      });
      expect(res.status).toBe(201);
      return res.body;
    },
  };
}

describe("the platform role", () => {
  it("has a row for every REST route of the app", () => {
    const registered = new Set(
      app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/\/$/, "") || "/"}`),
    );
    const rest = [...registered].filter((r) => r.split(" ")[1]!.startsWith("/api/"));
    expect(new Set(ROWS.map((r) => r.route))).toEqual(new Set(rest));
  });

  for (const row of ROWS) {
    it(`${row.route} → ${row.status === 403 ? "403" : `allowed (${row.status})`}`, async () => {
      const f = await fixture();
      const { path, body, auth } = await row.request(f);
      const [method] = row.route.split(" ");
      const res = await api(method!, path, { ...(auth === false ? {} : { token: await tokens.platform() }), body });
      if (row.status === 403) expectError(res, 403, "FORBIDDEN");
      else expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    });
  }

  it("may open a merchant's stream and an order's stream, like dispatch", async () => {
    const f = await fixture();
    const token = await tokens.platform();
    for (const path of [`/ws/merchant/${f.merchantId}/orders`, `/ws/order/${(await f.order()).id}`]) {
      const { socket, response } = await connect(path, { token });
      expect(response.status, path).toBe(101);
      socket!.close();
    }
  });
});

async function pairingCode(merchantId: string): Promise<string> {
  const res = await api<{ code: string }>("POST", `/api/merchants/${merchantId}/pairing-codes`, {
    token: await tokens.dispatch(),
  });
  expect(res.status).toBe(201);
  return res.body.code;
}

async function pairDevice(merchantId: string): Promise<{ device: { id: string }; refreshToken: string }> {
  const res = await api<{ device: { id: string }; refreshToken: string }>("POST", "/api/pair", {
    body: { code: await pairingCode(merchantId), deviceName: "screen" },
  });
  expect(res.status).toBe(200);
  return res.body;
}
