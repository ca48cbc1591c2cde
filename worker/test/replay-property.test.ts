/**
 * Property: any interleaving of operations (REST and socket, bulk, races) with socket drops,
 * resumes with `since`, fresh reconnects and room evictions leaves every screen and every
 * tracking page with a gap-free, exactly-once stream equal to its room's log, and a view equal
 * to the room's state. fast-check generates the interleavings (and shrinks any failure).
 */
import { evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { boardDiff, StreamWatcher } from "./chaos-support.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, ITEMS, merchantStub, orderStub, setupMerchant } from "./support/fixtures.ts";
import { bySeq, merchantLog, orderLog } from "./support/room-seams.ts";
import { api } from "./support/http.ts";

const SCREENS = 3;

const screenArb = fc.nat({ max: SCREENS - 1 });
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("place" as const) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("act" as const),
      order: fc.nat(),
      action: fc.constantFrom("accept", "preparing", "ready", "reject", "prep-time", "cancel"),
      via: fc.constantFrom("rest" as const, "socket" as const),
      screen: screenArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bulk" as const),
      orders: fc.uniqueArray(fc.nat({ max: 30 }), { minLength: 1, maxLength: 5 }),
      action: fc.constantFrom("accept" as const, "ready" as const),
      via: fc.constantFrom("rest" as const, "socket" as const),
      screen: screenArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("race" as const), order: fc.nat(), screen: screenArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("drop" as const), screen: screenArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("resume" as const), screen: screenArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fresh" as const), screen: screenArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("evict" as const),
      sockets: fc.constantFrom("hibernate" as const, "close" as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("customer" as const),
      what: fc.constantFrom("drop" as const, "resume" as const, "evict" as const),
    }),
  },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

let requests = 0;
const rid = () => `rp-${++requests}`;

async function run(ops: Op[]): Promise<void> {
  const { merchantId, staff } = await setupMerchant();
  const customer = await tokens.customer("cust-rp");
  const dispatch = await tokens.dispatch();
  const screens = Array.from(
    { length: SCREENS },
    (_, i) => new StreamWatcher("merchant", `/ws/merchant/${merchantId}/orders`, staff, `screen ${i}`),
  );
  for (const s of screens) await s.connect();
  const orders: Order[] = [];
  let tracker: StreamWatcher | null = null;

  const viaSocket = async (screen: StreamWatcher, frame: { action: string; payload: unknown }) => {
    await screen.noticeClosed();
    if (!screen.connected) return false;
    const requestId = rid();
    screen.socket!.send({ ...frame, requestId });
    await screen.socket!.until(
      (e) =>
        e.some((x) => x.requestId === requestId && ["ACK", "ERROR", "BULK_RESULT"].includes(x.event)) ||
        screen.socket!.closed !== null,
      10_000,
      `reply to ${frame.action}`,
    );
    return true;
  };
  const merchantRest = (orderId: string, action: string, body: unknown) =>
    api("POST", `/api/merchants/${merchantId}/orders/${orderId}/${action}`, {
      token: staff,
      body,
      headers: { "Idempotency-Key": rid() },
    });

  const act = async (order: Order, action: string, via: "rest" | "socket", screen: StreamWatcher) => {
    if (action === "cancel") {
      await api("POST", `/api/orders/${order.id}/cancel`, { token: dispatch, body: { reason: "ops" } });
      return;
    }
    const frames: Record<string, { action: string; payload: unknown }> = {
      accept: { action: "MERCHANT_ACCEPT", payload: { orderId: order.id, prepMinutes: 9 } },
      preparing: { action: "MERCHANT_MARK_PREPARING", payload: { orderId: order.id } },
      ready: { action: "MERCHANT_MARK_READY", payload: { orderId: order.id } },
      reject: { action: "MERCHANT_REJECT", payload: { orderId: order.id, reason: "sold out" } },
      "prep-time": { action: "MERCHANT_UPDATE_PREP_TIME", payload: { orderId: order.id, prepMinutes: 21 } },
    };
    if (via === "socket" && (await viaSocket(screen, frames[action]!))) return;
    const bodies: Record<string, unknown> = {
      accept: { prepMinutes: 9 },
      reject: { reason: "sold out" },
      "prep-time": { prepMinutes: 21 },
    };
    await merchantRest(order.id, action, bodies[action]);
  };

  for (const op of ops) {
    switch (op.kind) {
      case "place": {
        const res = await api<Order>("POST", "/api/orders", { token: customer, body: { merchantId, items: ITEMS } });
        expect(res.status).toBe(201);
        orders.push(res.body);
        if (!tracker) {
          tracker = new StreamWatcher("order", `/ws/order/${res.body.id}`, customer, "tracker");
          await tracker.connect();
        }
        break;
      }
      case "act":
        if (orders.length) await act(orders[op.order % orders.length]!, op.action, op.via, screens[op.screen]!);
        break;
      case "bulk": {
        const ids = [...new Set(op.orders.filter((i) => i < orders.length).map((i) => orders[i]!.id))];
        if (ids.length === 0) break;
        const frame = {
          action: op.action === "accept" ? "BULK_ACCEPT" : "BULK_MARK_READY",
          payload: { orderIds: ids },
        };
        if (op.via === "socket" && (await viaSocket(screens[op.screen]!, frame))) break;
        await api("POST", `/api/merchants/${merchantId}/orders/bulk`, {
          token: staff,
          body: { action: op.action, orderIds: ids },
        });
        break;
      }
      case "race":
        // Two kitchen gestures on one order at once (socket accept vs REST reject): one wins.
        if (orders.length) {
          const order = orders[op.order % orders.length]!;
          await Promise.all([
            act(order, "accept", "socket", screens[op.screen]!),
            act(order, "reject", "rest", screens[op.screen]!),
          ]);
        }
        break;
      case "drop":
        await screens[op.screen]!.drop();
        break;
      case "resume":
        await screens[op.screen]!.noticeClosed();
        if (!screens[op.screen]!.connected) await screens[op.screen]!.connect(true);
        break;
      case "fresh":
        await screens[op.screen]!.connect(false);
        break;
      case "evict":
        await evictDurableObject(merchantStub(merchantId), { webSockets: op.sockets }).catch(() => undefined);
        break;
      case "customer":
        if (!tracker) break;
        if (op.what === "drop") await tracker.drop();
        else if (op.what === "resume") {
          await tracker.noticeClosed();
          if (!tracker.connected) await tracker.connect(true);
        } else await evictDurableObject(orderStub(orders[0]!.id), { webSockets: "close" }).catch(() => undefined);
        break;
    }
  }

  // Quiesce: everyone reconnects with since, the outbox is delivered, everyone catches up.
  await flushOutbox(merchantId);
  const board = (await merchantStub(merchantId).board())!;
  const log = bySeq(await merchantLog(merchantId));
  expect(log.size).toBe(board.seq);
  const problems: string[] = [];
  for (const s of screens) {
    await s.noticeClosed();
    if (!s.connected) await s.connect(true);
    await s.reach(board.seq);
    problems.push(...s.check(log, board.seq).problems, ...boardDiff(s.name, s.board, board.orders));
  }
  if (tracker) {
    await tracker.noticeClosed();
    if (!tracker.connected) await tracker.connect(true);
    const info = await orderStub(orders[0]!.id).streamInfo();
    await tracker.reach(info.seq);
    problems.push(...tracker.check(bySeq(await orderLog(orders[0]!.id)), info.seq).problems);
    const truth = await merchantStub(merchantId).getOrder(orders[0]!.id);
    if (JSON.stringify(tracker.order) !== JSON.stringify(truth))
      problems.push(`tracker shows v${tracker.order?.version}, the room has v${truth?.version}`);
  }
  for (const s of [...screens, tracker]) await s?.drop();
  stats.runs++;
  stats.events += board.seq;
  stats.resumes += screens.reduce((n, s) => n + s.connects - 1, 0);
  stats.replayed += screens.reduce((n, s) => n + s.replayed, 0);
  expect(problems).toEqual([]);
}

const stats = { runs: 0, events: 0, resumes: 0, replayed: 0 };

describe("replay: any interleaving of operations and disconnects", () => {
  it("leaves every screen and tracking page with a gap-free, exactly-once stream equal to the room's log", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 8, maxLength: 40, size: "max" }), async (ops) => {
        await run(ops);
      }),
      { numRuns: 40, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: false },
    );
    console.log(`replay property: ${JSON.stringify(stats)}`);
    // The runs did real work: streams with events, reconnects that replayed some of them.
    expect(stats.events).toBeGreaterThan(100);
    expect(stats.replayed).toBeGreaterThan(20);
  }, 180_000);

  it("regression shape: drop every screen mid-burst, evict with sockets closed, resume all", async () => {
    await run([
      { kind: "place" },
      { kind: "place" },
      { kind: "drop", screen: 0 },
      { kind: "act", order: 0, action: "accept", via: "socket", screen: 1 },
      { kind: "evict", sockets: "close" },
      { kind: "act", order: 1, action: "accept", via: "rest", screen: 0 },
      { kind: "bulk", orders: [0, 1], action: "ready", via: "socket", screen: 2 },
      { kind: "resume", screen: 0 },
      { kind: "fresh", screen: 1 },
      { kind: "customer", what: "evict" },
      { kind: "race", order: 1, screen: 2 },
      { kind: "customer", what: "resume" },
    ]);
  }, 60_000);
});
