/**
 * The merchant room's stream is the record of committed changes: after a scripted mix of 20+
 * operations (successes and refusals, REST, socket and the deadline) it holds exactly one event
 * per committed change, seq 1..N without gaps, nothing for a refusal — also when the room is
 * evicted in the middle. The OrderRooms and D1 receive the same changes, in order. (The audit
 * trail read from this log: rest-orders.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import type { Order } from "../../schema/index.ts";
import { expectGapless } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, flushOutbox, merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, type ApiResponse } from "./support/http.ts";
import {
  isMarkedInstance,
  markInstance,
  merchantLog,
  orderLog,
  resetRoomClock,
  setRoomClock,
} from "./support/room-seams.ts";
import { open } from "./support/sockets.ts";
import { historyRowsOf } from "./support/history.ts";

interface Step {
  name: string;
  run: () => Promise<ApiResponse | { status: number }>;
  status: number;
  /** The events this step must commit, as [event, order label]. */
  events: [string, string][];
}

describe.each([
  { label: "without eviction", evictBefore: [] as number[] },
  { label: "with the room evicted three times in the middle", evictBefore: [5, 12, 19] },
])("the event log, $label", ({ evictBefore }) => {
  it("has exactly one event per committed change, seq 1..N, none for refusals", async () => {
    const { merchantId, staff } = await setupMerchant();
    const rival = await setupMerchant();
    const customer = await tokens.customer();
    const dispatch = await tokens.dispatch();
    const driver = await tokens.driver(DRIVER.driverId);
    const ids: Record<string, string> = {};
    const m = (label: string, action: string) => `/api/merchants/${merchantId}/orders/${ids[label]}/${action}`;
    const o = (label: string, action: string) => `/api/orders/${ids[label]}/${action}`;
    const place = (label: string) => async () => {
      const order = await placeOrder(merchantId, customer);
      ids[label] = order.id;
      return { status: 201 };
    };
    const post = (path: () => string, token: string, body?: unknown, headers?: Record<string, string>) => () => {
      const payload = typeof body === "function" ? (body as () => unknown)() : body;
      return api("POST", path(), {
        token,
        ...(payload !== undefined ? { body: payload } : {}),
        ...(headers ? { headers } : {}),
      });
    };

    const steps: Step[] = [
      { name: "place A", run: place("A"), status: 201, events: [["ORDER_CREATED", "A"]] },
      { name: "place B", run: place("B"), status: 201, events: [["ORDER_CREATED", "B"]] },
      { name: "place C", run: place("C"), status: 201, events: [["ORDER_CREATED", "C"]] },
      {
        name: "accept A",
        run: post(() => m("A", "accept"), staff, { prepMinutes: 10 }),
        status: 200,
        events: [["MERCHANT_ACCEPTED", "A"]],
      },
      { name: "accept A again", run: post(() => m("A", "accept"), staff, {}), status: 409, events: [] },
      { name: "preparing B while PLACED", run: post(() => m("B", "preparing"), staff), status: 409, events: [] },
      {
        name: "reject B",
        run: post(() => m("B", "reject"), staff, { reason: "no dough" }),
        status: 200,
        events: [["MERCHANT_REJECTED", "B"]],
      },
      {
        name: "customer cancels rejected B",
        run: post(() => o("B", "cancel"), customer, { reason: "x" }),
        status: 409,
        events: [],
      },
      {
        name: "prep time A",
        run: post(() => m("A", "prep-time"), staff, { prepMinutes: 20 }),
        status: 200,
        events: [["PREP_TIME_UPDATED", "A"]],
      },
      {
        name: "another customer cancels C",
        run: async () => post(() => o("C", "cancel"), await tokens.customer("cust-2"), { reason: "x" })(),
        status: 403,
        events: [],
      },
      {
        name: "rival merchant accepts C via its path",
        run: post(() => `/api/merchants/${rival.merchantId}/orders/${ids.C}/accept`, rival.staff, {}),
        status: 404,
        events: [],
      },
      {
        name: "rival merchant accepts C via our path",
        run: post(() => m("C", "accept"), rival.staff, {}),
        status: 403,
        events: [],
      },
      {
        name: "assign driver to A",
        run: post(() => o("A", "driver"), dispatch, DRIVER),
        status: 200,
        events: [["DRIVER_ASSIGNED", "A"]],
      },
      {
        name: "wrong driver arrives at A",
        run: async () => post(() => o("A", "arrived"), await tokens.driver("driver-2"))(),
        status: 403,
        events: [],
      },
      {
        name: "driver arrives at A",
        run: post(() => o("A", "arrived"), driver),
        status: 200,
        events: [["DRIVER_ARRIVED", "A"]],
      },
      { name: "driver arrives at A again", run: post(() => o("A", "arrived"), driver), status: 409, events: [] },
      {
        name: "preparing A over the socket",
        run: async () => {
          const screen = await open(`/ws/merchant/${merchantId}/orders`, {
            token: await tokens.merchant(merchantId, "screen-2"),
          });
          screen.send({ action: "MERCHANT_MARK_PREPARING", requestId: "sock-1", payload: { orderId: ids.A } });
          const reply = await screen.next(
            (e) => e.requestId === "sock-1" && (e.event === "ACK" || e.event === "ERROR"),
          );
          screen.close();
          return { status: reply.event === "ACK" ? 200 : 409 };
        },
        status: 200,
        events: [["MERCHANT_PREPARING", "A"]],
      },
      { name: "pickup A while PREPARING", run: post(() => o("A", "pickup"), driver), status: 409, events: [] },
      { name: "ready A", run: post(() => m("A", "ready"), staff), status: 200, events: [["MERCHANT_READY", "A"]] },
      { name: "place D", run: place("D"), status: 201, events: [["ORDER_CREATED", "D"]] },
      {
        name: "bulk accept C, D, A (ready), missing",
        run: post(
          () => `/api/merchants/${merchantId}/orders/bulk`,
          staff,
          () => ({ action: "accept", orderIds: [ids.C, ids.D, ids.A, `${merchantId}.missing`] }),
        ),
        status: 200,
        events: [
          ["MERCHANT_ACCEPTED", "C"],
          ["MERCHANT_ACCEPTED", "D"],
        ],
      },
      {
        name: "accept D with a bad body",
        run: post(() => m("D", "accept"), staff, { prepMinutes: 0 }),
        status: 400,
        events: [],
      },
      { name: "pickup A", run: post(() => o("A", "pickup"), driver), status: 200, events: [["ORDER_PICKED_UP", "A"]] },
      {
        name: "deliver A",
        run: post(() => o("A", "deliver"), driver),
        status: 200,
        events: [["ORDER_DELIVERED", "A"]],
      },
      { name: "deliver A again", run: post(() => o("A", "deliver"), driver), status: 409, events: [] },
      {
        name: "dispatch cancels D",
        run: post(() => o("D", "cancel"), dispatch, { reason: "no courier" }),
        status: 200,
        events: [["ORDER_CANCELLED", "D"]],
      },
      {
        name: "ready C with a key",
        run: post(() => m("C", "ready"), staff, undefined, { "Idempotency-Key": "ready-c" }),
        status: 200,
        events: [["MERCHANT_READY", "C"]],
      },
      {
        name: "ready C with the same key",
        run: post(() => m("C", "ready"), staff, undefined, { "Idempotency-Key": "ready-c" }),
        status: 200,
        events: [],
      },
      {
        name: "ready C with a new key",
        run: post(() => m("C", "ready"), staff, undefined, { "Idempotency-Key": "ready-c2" }),
        status: 409,
        events: [],
      },
      { name: "place E", run: place("E"), status: 201, events: [["ORDER_CREATED", "E"]] },
      {
        name: "E misses its deadline",
        run: async () => {
          const e = (await merchantStub(merchantId).getOrder(ids.E!))!;
          await setRoomClock(merchantId, Date.parse(e.acceptBy));
          await runDurableObjectAlarm(merchantStub(merchantId));
          await resetRoomClock(merchantId);
          return { status: 200 };
        },
        status: 200,
        events: [["ORDER_EXPIRED", "E"]],
      },
      { name: "accept expired E", run: post(() => m("E", "accept"), staff, {}), status: 409, events: [] },
    ];
    expect(steps.length).toBeGreaterThanOrEqual(20);

    const expected: [string, string][] = [];
    for (const [i, step] of steps.entries()) {
      if (evictBefore.includes(i)) {
        await markInstance(merchantId);
        await evictDurableObject(merchantStub(merchantId));
        // A new instance: nothing in memory survived, only storage.
        expect(await isMarkedInstance(merchantId)).toBe(false);
      }
      const res = await step.run();
      expect(res.status, `${step.name}: ${JSON.stringify("body" in res ? res.body : res)}`).toBe(step.status);
      expected.push(...step.events);
      // After every step, not only at the end: a refusal never leaves a trace, a success exactly one.
      const log = await merchantLog(merchantId);
      expectGapless(log);
      expect(
        log.map((e) => [e.event, e.orderId]),
        `after "${step.name}"`,
      ).toEqual(expected.map(([ev, label]) => [ev, ids[label]]));
    }

    const log = await merchantLog(merchantId);
    expect(log.length).toBe(expected.length);
    expect(log.length).toBeGreaterThanOrEqual(18);
    // Per order, versions run 1, 2, 3, … and each event carries the order as it became.
    for (const label of Object.keys(ids)) {
      const mine = log.filter((e) => e.orderId === ids[label]);
      expect(mine.map((e) => e.version)).toEqual(mine.map((_, i) => i + 1));
      expect(mine.map((e) => e.order.version)).toEqual(mine.map((_, i) => i + 1));
      const now = await api<Order>("GET", `/api/orders/${ids[label]}`, { token: dispatch });
      expect(mine.at(-1)!.order).toEqual(now.body);
    }
    // The rival's room saw nothing.
    expect(await merchantLog(rival.merchantId)).toEqual([]);
    // The room's reported seq is the log's.
    const board = await api("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(board.body.seq).toBe(log.length);

    // The same changes reach every OrderRoom (its own gap-free stream, event 1 ORDER_CREATED) and D1.
    await flushOutbox(merchantId);
    for (const label of Object.keys(ids)) {
      const mine = log.filter((e) => e.orderId === ids[label]);
      const roomLog = await orderLog(ids[label]!);
      expect(roomLog.map((e) => e.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(roomLog.map((e) => [e.event, e.version])).toEqual(mine.map((e) => [e.event, e.version]));
    }
    // D1 keeps one lean row per order, at the version of the order's last change.
    const rows = await historyRowsOf(merchantId);
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.version, r.status]]))).toEqual(
      Object.fromEntries(
        Object.values(ids).map((id) => {
          const last = log.filter((e) => e.orderId === id).at(-1)!;
          return [id, [last.version, last.order.status]];
        }),
      ),
    );
  });
});
