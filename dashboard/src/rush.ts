/**
 * A Friday rush for local development: realistic orders (varied items, item and order notes)
 * placed through the REST API with dev customer tokens, one customer changing their mind, and
 * drivers assigned, arriving and picking up with dev dispatch / driver tokens. Runs in the
 * browser (the board's "Simulate rush") and in Node (`npm run simulate`). Dev mode only: it
 * needs POST /api/dev/token.
 */
import {
  ListOrdersResponseSchema,
  OrderSchema,
  type Order,
  type OrderItem,
  type PlaceOrderBody,
} from "../../schema/index.ts";
import { apiCall, devToken, type ApiClient } from "./api.ts";

interface MenuItem {
  name: string;
  cents: number;
  notes?: readonly string[];
}

const MENU: readonly MenuItem[] = [
  { name: "Margherita pizza", cents: 1100, notes: ["extra basil", "well done", "cut in 8"] },
  { name: "Pepperoni pizza", cents: 1350, notes: ["extra cheese", "no chili oil"] },
  { name: "Tonkotsu ramen", cents: 1450, notes: ["no egg", "extra spicy", "noodles firm"] },
  { name: "Chicken katsu curry", cents: 1300, notes: ["sauce on the side", "brown rice"] },
  { name: "Smash burger", cents: 1200, notes: ["no pickles", "medium rare", "gluten-free bun"] },
  { name: "Veggie burger", cents: 1150, notes: ["vegan cheese", "no onion"] },
  { name: "Caesar salad", cents: 950, notes: ["dressing on the side", "no croutons"] },
  { name: "Pad thai", cents: 1250, notes: ["peanut allergy — no peanuts", "mild"] },
  { name: "Fries", cents: 450, notes: ["extra crispy", "no salt"] },
  { name: "Sweet potato fries", cents: 550 },
  { name: "Chicken wings (8)", cents: 1050, notes: ["buffalo", "honey garlic"] },
  { name: "Gyoza (6)", cents: 750 },
  { name: "Lemonade", cents: 350, notes: ["no ice"] },
  { name: "Cola", cents: 300 },
  { name: "Tiramisu", cents: 650 },
  { name: "Cheesecake", cents: 700, notes: ["birthday candle please"] },
];

const ORDER_NOTES = [
  "Ring the bell, baby sleeping",
  "Extra napkins please",
  "Leave at the door",
  "Cutlery for 3",
  "Allergy: sesame",
  "Please pack drinks separately",
];

const CUSTOMERS = [
  "alice",
  "bo",
  "chen",
  "dana",
  "eli",
  "fatima",
  "gus",
  "hana",
  "ivan",
  "jo",
  "kofi",
  "lena",
  "mo",
  "nina",
  "omar",
  "pia",
];

const DRIVERS = [
  { id: "drv-sam", name: "Sam" },
  { id: "drv-ana", name: "Ana" },
  { id: "drv-raj", name: "Raj" },
  { id: "drv-lea", name: "Léa" },
  { id: "drv-tom", name: "Tom" },
];

export type Random = () => number;

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

/** One plausible order: 1–5 lines, quantities mostly 1–2, a note on some lines and orders. */
export function randomOrder(random: Random, merchantId: string): PlaceOrderBody {
  const lines = 1 + Math.floor(random() * random() * 5);
  const items: OrderItem[] = [];
  const used = new Set<string>();
  while (items.length < lines) {
    const m = pick(random, MENU);
    if (used.has(m.name)) continue;
    used.add(m.name);
    const quantity = random() < 0.7 ? 1 : random() < 0.8 ? 2 : 3 + Math.floor(random() * 3);
    const note = m.notes && random() < 0.35 ? pick(random, m.notes) : undefined;
    items.push({ name: m.name, quantity, unitPriceCents: m.cents, ...(note ? { notes: note } : {}) });
  }
  const notes = random() < 0.3 ? pick(random, ORDER_NOTES) : undefined;
  return { merchantId, items, ...(notes ? { notes } : {}) };
}

export interface RushOptions {
  client: ApiClient;
  merchantId: string;
  /** How many orders to place (default 10). */
  orders?: number;
  /** Over how long (default 20 s); the first few land at once, like a real rush. */
  spreadMs?: number;
  /** How long drivers keep moving after the last order (default 90 s). */
  driversForMs?: number;
  random?: Random;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RushSummary {
  placed: Order[];
  cancelled: string[];
  driverMoves: number;
  errors: string[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

export async function runRush(opts: RushOptions): Promise<RushSummary> {
  const { client, merchantId, signal } = opts;
  const random = opts.random ?? Math.random;
  const log = opts.log ?? (() => {});
  const count = opts.orders ?? 10;
  const spreadMs = opts.spreadMs ?? 20_000;
  const driversForMs = opts.driversForMs ?? 90_000;
  const summary: RushSummary = { placed: [], cancelled: [], driverMoves: 0, errors: [] };
  const tokens = new Map<string, Promise<string>>();
  const tokenFor = (key: string, body: Parameters<typeof devToken>[1]) => {
    let t = tokens.get(key);
    if (!t) {
      t = devToken(client, body);
      tokens.set(key, t);
    }
    return t;
  };
  const note = (err: unknown, what: string) => {
    const line = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    summary.errors.push(line);
    log(line);
  };
  const dispatch = () => tokenFor("dispatch", { role: "dispatch", sub: "rush-dispatch" });

  // Orders: a burst of a third at once, the rest spread out.
  const burst = Math.max(1, Math.ceil(count / 3));
  const placing = (async () => {
    for (let i = 0; i < count && !signal?.aborted; i++) {
      if (i >= burst) await sleep((spreadMs / Math.max(1, count - burst)) * (0.5 + random()), signal);
      const customer = `${pick(random, CUSTOMERS)}-${Math.floor(random() * 900 + 100)}`;
      try {
        const token = await tokenFor(`c:${customer}`, { role: "customer", sub: customer });
        const order = await apiCall(client, "POST", "/api/orders", {
          token,
          body: randomOrder(random, merchantId),
          schema: OrderSchema,
        });
        summary.placed.push(order);
        log(`placed ${order.id} for ${customer} (${order.items.length} lines)`);
        // Someone always changes their mind.
        if (i === burst && summary.placed.length > 1) {
          const victim = summary.placed[0]!;
          await sleep(1500, signal);
          const victimToken = await tokenFor(`c:${victim.customerId}`, { role: "customer", sub: victim.customerId });
          try {
            await apiCall(client, "POST", `/api/orders/${encodeURIComponent(victim.id)}/cancel`, {
              token: victimToken,
              body: { reason: "Ordered from the wrong address" },
            });
            summary.cancelled.push(victim.id);
            log(`customer cancelled ${victim.id}`);
          } catch (err) {
            log(
              `could not cancel ${victim.id} (already accepted?): ${err instanceof Error ? err.message : String(err)}`,
            );
          }
        }
      } catch (err) {
        note(err, "placing an order");
      }
    }
  })();

  // Drivers: every few seconds, look at the board like dispatch would.
  const driving = (async () => {
    const until = Date.now() + spreadMs + driversForMs;
    let d = 0;
    let onTheRoad: Array<{ orderId: string; driverId: string }> = [];
    while (Date.now() < until && !signal?.aborted) {
      await sleep(3000 + random() * 2000, signal);
      // Last round's pickups reach their customers.
      for (const trip of onTheRoad) {
        try {
          const token = await tokenFor(`d:${trip.driverId}`, { role: "driver", sub: trip.driverId });
          await apiCall(client, "POST", `/api/orders/${encodeURIComponent(trip.orderId)}/deliver`, { token });
          summary.driverMoves++;
        } catch (err) {
          note(err, `delivering ${trip.orderId}`);
        }
      }
      onTheRoad = [];
      let board: Order[];
      try {
        board = (
          await apiCall(
            client,
            "GET",
            `/api/merchants/${encodeURIComponent(merchantId)}/orders?status=active&limit=200`,
            {
              token: await dispatch(),
              schema: ListOrdersResponseSchema,
            },
          )
        ).orders;
      } catch (err) {
        note(err, "reading the board");
        continue;
      }
      for (const order of board) {
        const path = `/api/orders/${encodeURIComponent(order.id)}`;
        try {
          if (!order.driver && order.status !== "PLACED" && random() < 0.6) {
            const driver = DRIVERS[d++ % DRIVERS.length]!;
            await apiCall(client, "POST", `${path}/driver`, {
              token: await dispatch(),
              body: { driverId: driver.id, name: driver.name, etaMinutes: 2 + Math.floor(random() * 12) },
            });
            summary.driverMoves++;
            log(`${driver.name} assigned to ${order.id}`);
          } else if (order.driver && !order.driver.arrivedAt && order.status !== "PLACED" && random() < 0.4) {
            const token = await tokenFor(`d:${order.driver.id}`, { role: "driver", sub: order.driver.id });
            await apiCall(client, "POST", `${path}/arrived`, { token });
            summary.driverMoves++;
            log(`${order.driver.name} arrived for ${order.id}`);
          } else if (order.driver?.arrivedAt && order.status === "READY" && random() < 0.6) {
            const token = await tokenFor(`d:${order.driver.id}`, { role: "driver", sub: order.driver.id });
            await apiCall(client, "POST", `${path}/pickup`, { token });
            onTheRoad.push({ orderId: order.id, driverId: order.driver.id });
            summary.driverMoves++;
            log(`${order.driver.name} picked up ${order.id}`);
          }
        } catch (err) {
          // The kitchen moves at the same time (a cancel, a pickup): the next round sees it.
          note(err, `driver step on ${order.id}`);
        }
      }
    }
  })();

  await Promise.all([placing, driving]);
  return summary;
}
