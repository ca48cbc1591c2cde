/**
 * The ledger of a chaos run: every operation it sent, under its idempotency key, with the first
 * definitive answer it got (REST or socket, normalised so that both compare equal when they mean
 * the same), and what a sensible actor does next with an order — as a REST call and, for the
 * kitchen's actions, as a socket frame.
 */
import type { Order } from "../../../schema/order.ts";
import { canonical, type Rng } from "./checks.ts";

export interface BulkOutcome {
  orderId: string;
  ok: boolean;
  code?: string;
  order?: Order;
}
/** A normalised answer, the same shape for REST and socket, so retries can be compared. */
export interface Outcome {
  ok: boolean;
  code?: string;
  orders?: Order[];
  results?: BulkOutcome[];
}

type BulkItem = { orderId: string; ok: boolean; order?: Order; error?: { code: string } };
const bulkOutcomes = (results: BulkItem[]): BulkOutcome[] =>
  results.map((r) => ({
    orderId: r.orderId,
    ok: r.ok,
    ...(r.order ? { order: r.order } : {}),
    ...(r.error ? { code: r.error.code } : {}),
  }));

/** A REST answer's JSON body (2xx or 4xx) as an outcome; null if it was not a JSON object. */
export function outcomeOfBody(body: unknown): Outcome | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as { error?: { code: string }; results?: BulkItem[] };
  if (b.error) return { ok: false, code: b.error.code };
  if (b.results) return { ok: true, results: bulkOutcomes(b.results) };
  return { ok: true, orders: [body as Order] };
}

/** A socket reply (ACK, BULK_RESULT, ERROR) as an outcome. */
export function outcomeOfReply(env: { event: string; payload: Record<string, unknown> }): Outcome {
  if (env.event === "ERROR") return { ok: false, code: env.payload.code as string };
  if (env.event === "BULK_RESULT") return { ok: true, results: bulkOutcomes(env.payload.results as BulkItem[]) };
  return { ok: true, orders: [env.payload.order as Order] };
}

/** The orders an answer says were changed (and so must each have one event). */
export const committedOrders = (outcome: Outcome | undefined): Order[] => [
  ...(outcome?.orders ?? []),
  ...(outcome?.results ?? []).flatMap((r) => (r.order ? [r.order] : [])),
];

/** What every chaos harness counts of its traffic (each adds its own faults' counts). */
export const trafficCounts = () => ({
  orders: 0,
  actions: 0,
  socketActions: 0,
  bulk: 0,
  races: 0,
  refused: 0,
  idempotentRetries: 0,
  ambiguousRetried: 0,
  rateLimited: 0,
});

/** Keeps the newest version of each order seen in any answer. */
export function learn(known: Map<string, Order>, orders: readonly Order[]): void {
  for (const o of orders) {
    const had = known.get(o.id);
    if (!had || had.version < o.version) known.set(o.id, o);
  }
}

export interface LedgerEntry<Screen = unknown> {
  /** Idempotency-Key over REST, requestId over a socket: one namespace per caller. */
  key: string;
  /** The caller, `role:id`: who every event of this entry must name as its actor. */
  scope: string;
  merchantId: string;
  kind: string;
  channel: "rest" | "socket";
  rest: { method: string; path: string; body?: unknown; token: string };
  frame?: { action: string; payload: Record<string, unknown> };
  /** The kitchen screen whose socket sends `frame`. */
  screen?: Screen;
  /** The first definitive answer; every later answer to the same key must equal it. */
  first?: Outcome;
  answers: number;
  retries: number;
}

/** Records a definitive answer; returns how it differs from the first one, if it does. */
export function recordAnswer(entry: LedgerEntry, outcome: Outcome): string | null {
  entry.answers++;
  if (!entry.first) {
    entry.first = outcome;
    return null;
  }
  const [first, now] = [canonical(entry.first), canonical(outcome)];
  return first === now ? null : `${entry.key}: first ${first.slice(0, 200)}, then ${now.slice(0, 200)}`;
}

export type ActionKind =
  | "accept"
  | "reject"
  | "preparing"
  | "ready"
  | "prep-time"
  | "cancel"
  | "driver"
  | "arrived"
  | "pickup"
  | "deliver"
  | "bulk-accept"
  | "bulk-ready";

const ANY: ActionKind[] = [
  "accept",
  "reject",
  "preparing",
  "ready",
  "prep-time",
  "cancel",
  "driver",
  "arrived",
  "pickup",
  "deliver",
];

/** What a sensible actor would do next with an order in this status (and, `anyChance`, anything). */
export function nextAction(order: Order | undefined, rng: Rng, anyChance: number): ActionKind {
  if (!order || rng.chance(anyChance)) return rng.pick(ANY);
  const byStatus: Partial<Record<Order["status"], ActionKind[]>> = {
    PLACED: ["accept", "accept", "accept", "bulk-accept", "reject", "cancel", "driver"],
    ACCEPTED: ["preparing", "preparing", "ready", "prep-time", "driver", "arrived", "bulk-ready", "cancel"],
    PREPARING: ["ready", "ready", "bulk-ready", "prep-time", "driver", "arrived"],
    READY: order.driver ? ["pickup", "pickup", "arrived", "driver"] : ["driver", "driver", "cancel"],
    PICKED_UP: ["deliver"],
  };
  return rng.pick(byStatus[order.status] ?? ANY);
}

export interface ActionPlan<Screen> {
  merchantId: string;
  orderId: string;
  /** The newest version of the order the harness knows of. */
  order: Order | undefined;
  kind: ActionKind;
  key: string;
  /** Kitchen actions go over `screen`'s socket, as `staff` (its sub); else over REST. */
  useSocket: boolean;
  screen: Screen;
  staff: { sub: string; token: string };
  tokenFor: (role: "customer" | "dispatch" | "driver", sub: string) => Promise<string>;
  rng: Rng;
  /** Other orders a bulk takes along. */
  bulkWith: () => string[];
  /** Drivers are drv-1 … drv-N. */
  drivers: number;
}

/** The ledger entry for a customer's placement (REST only, keyed like every retry of it). */
export function planPlacement(p: {
  key: string;
  merchantId: string;
  customer: string;
  token: string;
  items: unknown[];
  notes: string;
}): LedgerEntry<never> {
  const body = { merchantId: p.merchantId, items: p.items, notes: p.notes };
  return {
    key: p.key,
    scope: `customer:${p.customer}`,
    merchantId: p.merchantId,
    kind: "place",
    channel: "rest",
    rest: { method: "POST", path: "/api/orders", body, token: p.token },
    answers: 0,
    retries: 0,
  };
}

/** The ledger entry for one action: who sends what, over which channel. */
export async function planAction<Screen>(p: ActionPlan<Screen>): Promise<LedgerEntry<Screen>> {
  const { merchantId, orderId, order, kind, key, rng } = p;
  const common = { key, merchantId, kind, answers: 0, retries: 0 };
  const kitchen = (action: string, path: string, body: unknown, payload: Record<string, unknown>) => ({
    ...common,
    scope: `merchant:${p.staff.sub}`,
    channel: p.useSocket ? ("socket" as const) : ("rest" as const),
    rest: { method: "POST", path: `/api/merchants/${merchantId}/orders${path}`, body, token: p.staff.token },
    frame: { action, payload },
    screen: p.screen,
  });
  const rest = async (role: "customer" | "dispatch" | "driver", who: string, path: string, body?: unknown) => ({
    ...common,
    scope: `${role}:${who}`,
    channel: "rest" as const,
    rest: { method: "POST", path: `/api/orders/${orderId}${path}`, body, token: await p.tokenFor(role, who) },
  });
  const anyDriver = () => `drv-${rng.between(1, p.drivers)}`;
  switch (kind) {
    case "accept":
      return kitchen("MERCHANT_ACCEPT", `/${orderId}/accept`, { prepMinutes: 12 }, { orderId, prepMinutes: 12 });
    case "reject":
      return kitchen("MERCHANT_REJECT", `/${orderId}/reject`, { reason: "sold out" }, { orderId, reason: "sold out" });
    case "preparing":
      return kitchen("MERCHANT_MARK_PREPARING", `/${orderId}/preparing`, undefined, { orderId });
    case "ready":
      return kitchen("MERCHANT_MARK_READY", `/${orderId}/ready`, undefined, { orderId });
    case "prep-time":
      return kitchen(
        "MERCHANT_UPDATE_PREP_TIME",
        `/${orderId}/prep-time`,
        { prepMinutes: 25 },
        { orderId, prepMinutes: 25 },
      );
    case "bulk-accept":
    case "bulk-ready": {
      const orderIds = [orderId, ...p.bulkWith()];
      const accept = kind === "bulk-accept";
      const body = { action: accept ? "accept" : "ready", orderIds };
      return kitchen(accept ? "BULK_ACCEPT" : "BULK_MARK_READY", "/bulk", body, { orderIds });
    }
    case "cancel":
      return order?.status === "PLACED" && rng.chance(0.5)
        ? rest("customer", order.customerId, "/cancel", { reason: "chaos cancel" })
        : rest("dispatch", "ops", "/cancel", { reason: "chaos cancel" });
    case "driver": {
      const driverId = anyDriver();
      return rest("dispatch", "ops", "/driver", { driverId, name: `Driver ${driverId}` });
    }
    default:
      // arrived / pickup / deliver: mostly the assigned driver, sometimes another (who must be refused).
      return rest("driver", order?.driver && rng.chance(0.9) ? order.driver.id : anyDriver(), `/${kind}`);
  }
}
