/**
 * Merchants and orders set up through the real API, and stubs of the two rooms. Every test uses
 * fresh merchant ids, so tests never share a room.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Order, OrderItem, OrderStatus, UpsertMerchantBody } from "../../../schema/index.ts";
import { tokens } from "./credentials.ts";
import { api, uniqueId } from "./http.ts";

export const ITEMS: OrderItem[] = [
  { name: "Margherita", quantity: 2, unitPriceCents: 1100, notes: "extra basil" },
  { name: "Lemonade", quantity: 1, unitPriceCents: 350 },
];

/** The driver `orderIn` assigns (tokens.driver() is this driver). */
export const DRIVER = { driverId: "driver-1", name: "Dana" };

export function merchantStub(merchantId: string) {
  return env.MERCHANT_ROOM.get(env.MERCHANT_ROOM.idFromName(merchantId));
}

export function orderStub(orderId: string) {
  return env.ORDER_ROOM.get(env.ORDER_ROOM.idFromName(orderId));
}

/** Creates a merchant (via dispatch) and returns its id and a staff token (`staff-1`). */
export async function setupMerchant(settings: Partial<UpsertMerchantBody> = {}) {
  const merchantId = uniqueId("m");
  const res = await api("PUT", `/api/merchants/${merchantId}`, {
    token: await tokens.dispatch(),
    body: { name: "Test Kitchen", ...settings },
  });
  expect(res.status).toBe(201);
  return { merchantId, staff: await tokens.merchant(merchantId) };
}

/** Places an order of ITEMS (by `cust-1` unless another customer's token is given). */
export async function placeOrder(
  merchantId: string,
  customerToken?: string,
  extra: Record<string, unknown> = {},
): Promise<Order> {
  const res = await api<Order>("POST", "/api/orders", {
    token: customerToken ?? (await tokens.customer()),
    body: { merchantId, items: ITEMS, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Places `count` orders of `items`, ten at a time, each by its own customer (`<prefix>-<n>`). */
export async function placeOrders(
  merchantId: string,
  count: number,
  items: OrderItem[],
  customerPrefix: string,
): Promise<Order[]> {
  const orders: Order[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
      const res = await api<Order>("POST", "/api/orders", {
        token: await tokens.customer(`${customerPrefix}-${i + j}`),
        body: { merchantId, items },
      });
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(201);
      return res.body;
    });
    orders.push(...(await Promise.all(batch)));
  }
  return orders;
}

/**
 * Places an order and moves it to `status` through the real API. The customer is `cust-1`, the
 * assigned driver (for PICKED_UP and DELIVERED) DRIVER.
 */
export async function orderIn(merchantId: string, status: OrderStatus): Promise<Order> {
  const staff = await tokens.merchant(merchantId);
  const order = await placeOrder(merchantId);
  const step = async (path: string, token: string, body: unknown = {}) => {
    const res = await api<Order>("POST", path, { token, body });
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const m = `/api/merchants/${merchantId}/orders/${order.id}`;
  const o = `/api/orders/${order.id}`;
  switch (status) {
    case "PLACED":
      return order;
    case "REJECTED":
      return step(`${m}/reject`, staff, { reason: "out of dough" });
    case "CANCELLED":
      return step(`${o}/cancel`, await tokens.customer(), { reason: "changed my mind" });
    case "EXPIRED":
      throw new Error("move the room's clock (room-seams.ts) to expire an order");
    default:
  }
  const accepted = await step(`${m}/accept`, staff, { prepMinutes: 10 });
  if (status === "ACCEPTED") return accepted;
  const preparing = await step(`${m}/preparing`, staff);
  if (status === "PREPARING") return preparing;
  const ready = await step(`${m}/ready`, staff);
  if (status === "READY") return ready;
  await step(`${o}/driver`, await tokens.dispatch(), DRIVER);
  const picked = await step(`${o}/pickup`, await tokens.driver(DRIVER.driverId));
  if (status === "PICKED_UP") return picked;
  return step(`${o}/deliver`, await tokens.driver(DRIVER.driverId));
}

/** Delivers the merchant room's outbox now (so D1 and the order rooms are current). */
export async function flushOutbox(merchantId: string): Promise<void> {
  const { pending } = await merchantStub(merchantId).deliverPending();
  expect(pending).toBe(0);
}

/** True if the Durable Object had a live instance, which this evicts (evictDurableObject rejects otherwise). */
export async function evictIfRunning(stub: DurableObjectStub): Promise<boolean> {
  try {
    await evictDurableObject(stub);
    return true;
  } catch {
    return false;
  }
}
