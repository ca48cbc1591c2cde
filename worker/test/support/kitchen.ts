/**
 * Kitchen operations (CONTRACT.md, Additions v2) as a client calls them: availability, the
 * sold-out list, and the merchant's actions on an accepted order, over REST; every kind of caller
 * for one merchant; the merchant room's stream read back with its payloads, merchant-level events
 * (no order) included.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import type { Availability, Merchant, Order, OrderItem, SoldOutItem } from "../../../schema/index.ts";
import { token, tokens } from "./credentials.ts";
import { api, type ApiResponse, uniqueId } from "./http.ts";
import { merchantLog, setRoomClock } from "./room-seams.ts";
import { merchantStub, setupMerchant } from "./fixtures.ts";

export const MINUTE = 60_000;

/** A fresh merchant whose room's clock stands at `t0`, five minutes ahead of real time (frozen). */
export async function merchantAt(settings: Record<string, unknown> = {}) {
  const m = await setupMerchant(settings);
  const t0 = Date.now() + 5 * MINUTE;
  await setRoomClock(m.merchantId, t0);
  return { ...m, t0 };
}

/** Sets the room's clock to `atMs` and runs its alarm. */
export async function alarmAt(merchantId: string, atMs: number): Promise<void> {
  await setRoomClock(merchantId, atMs);
  await runDurableObjectAlarm(merchantStub(merchantId));
}

/** The platform backend most tests act as. */
export const platformToken = (id = "platform-1") => token("platform", id);

/** One token of every kind of caller, for `merchantId`: its staff, another store's staff, and the rest. */
export async function callers(merchantId: string) {
  return {
    own: await tokens.merchant(merchantId),
    otherMerchant: await tokens.merchant(uniqueId("m-other")),
    customer: await tokens.customer(),
    driver: await tokens.driver(),
    dispatch: await tokens.dispatch(),
    platform: await platformToken(),
  };
}
export type CallerName = keyof Awaited<ReturnType<typeof callers>>;

const withKey = (key: string | undefined) => (key !== undefined ? { headers: { "Idempotency-Key": key } } : {});

export function setAvailability(
  merchantId: string,
  tok: string,
  body: unknown,
  key?: string,
): Promise<ApiResponse<{ availability: Availability }>> {
  return api("PUT", `/api/merchants/${merchantId}/availability`, { token: tok, body, ...withKey(key) });
}

export function setSoldOut(
  merchantId: string,
  tok: string,
  items: unknown,
  key?: string,
): Promise<ApiResponse<{ items: SoldOutItem[] }>> {
  return api("PUT", `/api/merchants/${merchantId}/sold-out`, { token: tok, body: { items }, ...withKey(key) });
}

export function getSoldOut(merchantId: string, tok: string): Promise<ApiResponse<{ items: SoldOutItem[] }>> {
  return api("GET", `/api/merchants/${merchantId}/sold-out`, { token: tok });
}

export function getMerchant(merchantId: string, tok: string): Promise<ApiResponse<Merchant>> {
  return api("GET", `/api/merchants/${merchantId}`, { token: tok });
}

/** A merchant action on one order over REST: `adjust`, `recall`, `items/<i>/done`, `accept`, … */
export function orderAction(
  merchantId: string,
  orderId: string,
  action: string,
  tok: string,
  body: unknown = {},
  key?: string,
): Promise<ApiResponse<Order>> {
  return api("POST", `/api/merchants/${merchantId}/orders/${orderId}/${action}`, { token: tok, body, ...withKey(key) });
}

/** Tries a placement (not asserting it works): `extra` is merged over `{ merchantId, items }`. */
export async function tryPlace(
  merchantId: string,
  extra: Record<string, unknown> = {},
  tok?: string,
): Promise<ApiResponse<Order>> {
  return api("POST", "/api/orders", {
    token: tok ?? (await tokens.customer()),
    body: { merchantId, items: [{ name: "Margherita", quantity: 1, unitPriceCents: 1100 }], ...extra },
  });
}

/** Three lines, so that one can be removed and others lowered: 2×1100 + 1×350 + 3×600 = 4350. */
export const THREE_ITEMS: OrderItem[] = [
  { name: "Margherita", quantity: 2, unitPriceCents: 1100 },
  { name: "Lemonade", quantity: 1, unitPriceCents: 350 },
  { name: "Tiramisu", quantity: 3, unitPriceCents: 600 },
];

/** An order of THREE_ITEMS, accepted (and moved on to PREPARING / READY when asked) over REST. */
export async function acceptedOrder(
  merchantId: string,
  staff: string,
  status: "ACCEPTED" | "PREPARING" | "READY" = "ACCEPTED",
): Promise<Order> {
  const placed = await tryPlace(merchantId, { items: THREE_ITEMS });
  if (placed.status !== 201) throw new Error(`placement: ${JSON.stringify(placed.body)}`);
  let order = placed.body;
  const steps = { ACCEPTED: ["accept"], PREPARING: ["accept", "preparing"], READY: ["accept", "preparing", "ready"] };
  for (const step of steps[status]) {
    const res = await orderAction(merchantId, order.id, step, staff, step === "accept" ? { prepMinutes: 10 } : {});
    if (res.status !== 200) throw new Error(`${step}: ${JSON.stringify(res.body)}`);
    order = res.body;
  }
  return order;
}

/** One stream event of the merchant room as stored, with its payload (merchant-level ones have no order). */
export interface StoredStreamEvent {
  seq: number;
  event: string;
  via: string;
  requestId?: string;
  at: string;
  payload: Record<string, any>;
}

/** The merchant room's whole stream with payloads, oldest first. */
export async function merchantStream(merchantId: string): Promise<StoredStreamEvent[]> {
  return (await merchantLog(merchantId)).map((e) => {
    const env = JSON.parse(e.envelope) as { event: string; requestId?: string; at: string; payload: any };
    return {
      seq: e.seq,
      event: env.event,
      via: e.via,
      ...(env.requestId !== undefined ? { requestId: env.requestId } : {}),
      at: env.at,
      payload: env.payload,
    };
  });
}

/** The merchant-level events (availability, sold-out) of the stream. */
export async function merchantEvents(merchantId: string): Promise<StoredStreamEvent[]> {
  return (await merchantStream(merchantId)).filter(
    (e) => e.event === "MERCHANT_AVAILABILITY_CHANGED" || e.event === "SOLD_OUT_CHANGED",
  );
}
