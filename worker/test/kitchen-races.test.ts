/**
 * Kitchen operations racing each other and the rest (issue 14: "two screens pausing and
 * accepting at once: exactly one outcome"). The merchant room is the single writer: every race
 * has one order of events, every screen sees that same gap-free stream, and a placement racing a
 * pause or an 86 is either placed before it or refused — never both, never neither.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectGapless } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { DRIVER, setupMerchant } from "./support/fixtures.ts";
import { checkAndClose } from "./support/frames.ts";
import { api, type ApiResponse } from "./support/http.ts";
import {
  acceptedOrder,
  getMerchant,
  merchantStream,
  orderAction,
  setAvailability,
  setSoldOut,
  tryPlace,
} from "./support/kitchen.ts";
import { merchantLog } from "./support/room-seams.ts";
import { barrier, openMerchantSocket, reply, rid, type TestSocket } from "./support/sockets.ts";

/** Two staff screens and an observer on one merchant. */
async function screens(merchantId: string): Promise<[TestSocket, TestSocket, TestSocket]> {
  const [a, b, observer] = await Promise.all(
    ["screen-a", "screen-b", "observer"].map(async (s) =>
      openMerchantSocket(merchantId, await tokens.merchant(merchantId, s)),
    ),
  );
  return [a!, b!, observer!];
}

/** Sends both frames before awaiting either reply. */
async function together(
  a: TestSocket,
  actionA: string,
  payloadA: object,
  b: TestSocket,
  actionB: string,
  payloadB: object,
) {
  const idA = rid("a");
  const idB = rid("b");
  a.send({ action: actionA, requestId: idA, payload: payloadA });
  b.send({ action: actionB, requestId: idB, payload: payloadB });
  return Promise.all([reply(a, idA), reply(b, idB)]);
}

/** Every screen holds the same stream, and the room's log is gap-free. */
async function sameStreamEverywhere(merchantId: string, all: TestSocket[]): Promise<void> {
  for (const s of all) await barrier(s);
  const reference = all[0]!.stream();
  for (const s of all) expect(s.stream()).toEqual(reference);
  expectGapless(await merchantLog(merchantId));
}

/** Where each placement landed relative to the one merchant-level event it raced. */
async function placementsAgainst(merchantId: string, placements: ApiResponse<Order>[], event: string, code: string) {
  const log = await merchantStream(merchantId);
  const cut = log.filter((e) => e.event === event).at(-1)!.seq;
  for (const p of placements) {
    if (p.status === 201) {
      const created = log.find((e) => e.event === "ORDER_CREATED" && e.payload.order.id === p.body.id);
      expect(created!.seq, "placed before the change it raced").toBeLessThan(cut);
    } else {
      expectError(p, 409, code as "MERCHANT_PAUSED");
    }
  }
  const createdAfter = log.filter((e) => e.event === "ORDER_CREATED" && e.seq > cut);
  expect(createdAfter).toEqual([]);
  const placedHere = new Set(placements.filter((p) => p.status === 201).map((p) => p.body.id));
  const createdNow = log.filter((e) => e.event === "ORDER_CREATED" && placedHere.has(e.payload.order.id));
  expect(createdNow).toHaveLength(placedHere.size);
}

describe("availability races", () => {
  it("one screen pausing while another accepts (×5): both happen once, in one order everyone sees", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, observer] = await screens(merchantId);
    for (let round = 0; round < 5; round++) {
      const order = (await tryPlace(merchantId)).body;
      const [paused, accepted] = await together(
        a,
        "MERCHANT_SET_AVAILABILITY",
        { mode: "PAUSED", reason: `round ${round}` },
        b,
        "MERCHANT_ACCEPT",
        { orderId: order.id },
      );
      expect([paused.event, accepted.event]).toEqual(["ACK", "ACK"]);
      expect(accepted.payload.order).toMatchObject({ status: "ACCEPTED" });
      expect((await setAvailability(merchantId, staff, { mode: "OPEN" })).status).toBe(200);
    }
    await sameStreamEverywhere(merchantId, [a, b, observer]);
    const events = observer.stream().map((e) => e.event);
    expect(events.filter((e) => e === "MERCHANT_ACCEPTED")).toHaveLength(5);
    expect(events.filter((e) => e === "MERCHANT_AVAILABILITY_CHANGED")).toHaveLength(10);
    checkAndClose("merchant", a, b, observer);
  });

  it("placements racing a pause (×8 rounds of 4): each is placed before the pause or refused MERCHANT_PAUSED — never both, never neither", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [screen] = await screens(merchantId);
    const customers = await Promise.all([0, 1, 2, 3].map((i) => tokens.customer(`race-${i}`)));
    for (let round = 0; round < 8; round++) {
      const id = rid("pause");
      const placing = customers.map((c) => tryPlace(merchantId, {}, c));
      screen.send({ action: "MERCHANT_SET_AVAILABILITY", requestId: id, payload: { mode: "PAUSED" } });
      const [placements, ack] = await Promise.all([Promise.all(placing), reply(screen, id)]);
      expect(ack.event).toBe("ACK");
      await placementsAgainst(merchantId, placements, "MERCHANT_AVAILABILITY_CHANGED", "MERCHANT_PAUSED");
      expect((await setAvailability(merchantId, staff, { mode: "OPEN" })).status).toBe(200);
    }
    checkAndClose("merchant", screen);
  });

  it("two screens setting availability at once: both apply, one after the other; GET and a new SNAPSHOT show the later", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, observer] = await screens(merchantId);
    for (let round = 0; round < 5; round++) {
      const [ra, rb] = await together(
        a,
        "MERCHANT_SET_AVAILABILITY",
        { mode: "PAUSED", reason: "a" },
        b,
        "MERCHANT_SET_AVAILABILITY",
        { mode: "BUSY", extraPrepMinutes: 20, reason: "b" },
      );
      expect([ra.event, rb.event]).toEqual(["ACK", "ACK"]);
      await barrier(observer);
      const last = observer.stream().at(-1);
      expect((await getMerchant(merchantId, staff)).body.availability).toEqual(last.payload.availability);
      const late = await openMerchantSocket(merchantId, staff);
      expect(late.envelopes[0].payload.merchant.availability).toEqual(last.payload.availability);
      late.close();
    }
    await sameStreamEverywhere(merchantId, [a, b, observer]);
    checkAndClose("merchant", a, b, observer);
  });

  it("placements racing an 86 of their item: placed before it or refused ITEMS_UNAVAILABLE", async () => {
    const { merchantId, staff } = await setupMerchant();
    const customers = await Promise.all([0, 1, 2].map((i) => tokens.customer(`fries-${i}`)));
    const fries = { items: [{ name: "Fries", quantity: 1, unitPriceCents: 300 }] };
    for (let round = 0; round < 5; round++) {
      const [placements, set] = await Promise.all([
        Promise.all(customers.map((c) => tryPlace(merchantId, fries, c))),
        setSoldOut(merchantId, staff, [{ name: "fries" }]),
      ]);
      expect(set.status).toBe(200);
      await placementsAgainst(merchantId, placements, "SOLD_OUT_CHANGED", "ITEMS_UNAVAILABLE");
      await setSoldOut(merchantId, staff, []);
    }
  });
});

describe("races on one order", () => {
  it("two screens recalling the same order at once (×4): one ACK, one INVALID_TRANSITION, one MERCHANT_RECALLED", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, observer] = await screens(merchantId);
    for (let round = 0; round < 4; round++) {
      const order = await acceptedOrder(merchantId, staff, "READY");
      const replies = await together(a, "MERCHANT_RECALL", { orderId: order.id }, b, "MERCHANT_RECALL", {
        orderId: order.id,
      });
      expect(replies.map((r) => r.event).sort()).toEqual(["ACK", "ERROR"]);
      expect(replies.find((r) => r.event === "ERROR").payload.code).toBe("INVALID_TRANSITION");
      await barrier(observer);
      const recalls = observer
        .stream()
        .filter((e) => e.event === "MERCHANT_RECALLED" && e.payload.order.id === order.id);
      expect(recalls.map((e) => e.requestId)).toEqual([replies.find((r) => r.event === "ACK").requestId]);
    }
    await sameStreamEverywhere(merchantId, [a, b, observer]);
    checkAndClose("merchant", a, b, observer);
  });

  it("two screens lowering the same item at once: one wins, the other is refused (no longer lower); different items: both apply", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, observer] = await screens(merchantId);
    const order = await acceptedOrder(merchantId, staff);
    const same = { orderId: order.id, changes: [{ index: 2, quantity: 2 }], reason: "one dropped" };
    const [ra, rb] = await together(a, "MERCHANT_ADJUST_ITEMS", same, b, "MERCHANT_ADJUST_ITEMS", same);
    expect([ra.event, rb.event].sort()).toEqual(["ACK", "ERROR"]);
    expect([ra, rb].find((r) => r.event === "ERROR").payload.code).toBe("BAD_REQUEST");

    const [rc, rd] = await together(
      a,
      "MERCHANT_ADJUST_ITEMS",
      { orderId: order.id, changes: [{ index: 0, quantity: 1 }], reason: "a" },
      b,
      "MERCHANT_ADJUST_ITEMS",
      { orderId: order.id, changes: [{ index: 1, quantity: 0 }], reason: "b" },
    );
    expect([rc.event, rd.event]).toEqual(["ACK", "ACK"]);
    const final = (await api<Order>("GET", `/api/orders/${order.id}`, { token: staff })).body;
    expect(final.items.map((i) => i.quantity)).toEqual([1, 0, 2]);
    expect(final.totalCents).toBe(1100 + 2 * 600);
    expect(final.adjustments).toHaveLength(3);
    expect(final.version).toBe(order.version + 3);
    await sameStreamEverywhere(merchantId, [a, b, observer]);
    const adjusted = observer.stream().filter((e) => e.event === "ORDER_ADJUSTED");
    expect(adjusted.map((e) => e.payload.order.version)).toEqual([2, 3, 4].map((n) => order.version + n - 1));
    checkAndClose("merchant", a, b, observer);
  });

  it("two stations bumping the same item at once: one ACK, one CONFLICT, one ITEM_DONE", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, observer] = await screens(merchantId);
    const order = await acceptedOrder(merchantId, staff, "PREPARING");
    const bump = { orderId: order.id, index: 0, done: true };
    const replies = await together(a, "MERCHANT_ITEM_DONE", bump, b, "MERCHANT_ITEM_DONE", bump);
    expect(replies.map((r) => r.event).sort()).toEqual(["ACK", "ERROR"]);
    expect(replies.find((r) => r.event === "ERROR").payload.code).toBe("CONFLICT");
    await sameStreamEverywhere(merchantId, [a, b, observer]);
    expect(observer.stream().filter((e) => e.event === "ITEM_DONE")).toHaveLength(1);
    checkAndClose("merchant", a, b, observer);
  });

  it("the kitchen's recall racing the driver's pickup (×4): exactly one happens", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [screen] = await screens(merchantId);
    const driver = await tokens.driver();
    for (let round = 0; round < 4; round++) {
      const order = await acceptedOrder(merchantId, staff, "READY");
      await api("POST", `/api/orders/${order.id}/driver`, { token: await tokens.dispatch(), body: DRIVER });
      const id = rid("recall");
      screen.send({ action: "MERCHANT_RECALL", requestId: id, payload: { orderId: order.id } });
      const [recall, pickup] = await Promise.all([
        reply(screen, id),
        api<Order>("POST", `/api/orders/${order.id}/pickup`, { token: driver }),
      ]);
      const wins = [recall.event === "ACK", pickup.status === 200].filter(Boolean);
      expect(wins, JSON.stringify([recall.payload, pickup.body])).toHaveLength(1);
      if (pickup.status !== 200) expectError(pickup, 409, "INVALID_TRANSITION");
      else expect(recall.payload.code).toBe("INVALID_TRANSITION");
      const status = (await api<Order>("GET", `/api/orders/${order.id}`, { token: staff })).body.status;
      expect(status).toBe(recall.event === "ACK" ? "PREPARING" : "PICKED_UP");
    }
    checkAndClose("merchant", screen);
  });
});

describe("retries at once", () => {
  it("the same request retried concurrently (REST key ×5, a requestId twice on the wire) applies once and answers alike", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await acceptedOrder(merchantId, staff);
    const body = { mode: "BUSY", extraPrepMinutes: 9 };
    const pauses = await Promise.all(Array.from({ length: 5 }, () => setAvailability(merchantId, staff, body, "same")));
    for (const p of pauses) expect(p).toMatchObject({ status: 200, body: pauses[0]!.body });
    const adjusts = await Promise.all(
      Array.from({ length: 5 }, () =>
        orderAction(
          merchantId,
          order.id,
          "adjust",
          staff,
          { changes: [{ index: 0, quantity: 1 }], reason: "r" },
          "adj",
        ),
      ),
    );
    for (const r of adjusts) expect(r).toMatchObject({ status: 200, body: adjusts[0]!.body });

    const [screen] = await screens(merchantId);
    const id = rid("twice");
    const frame = { action: "MERCHANT_RECALL", requestId: id, payload: { orderId: order.id } };
    const ready = await orderAction(merchantId, order.id, "ready", staff);
    expect(ready.status).toBe(200);
    screen.send(frame);
    screen.send(frame);
    await screen.until((envs) => envs.filter((e) => e.requestId === id && e.event === "ACK").length === 2);
    const acks = screen.envelopes.filter((e) => e.requestId === id && e.event === "ACK");
    expect(acks[1].payload).toEqual(acks[0].payload);
    await barrier(screen);
    const events = (await merchantStream(merchantId)).map((e) => e.event);
    expect(events.filter((e) => e === "MERCHANT_AVAILABILITY_CHANGED")).toHaveLength(1);
    expect(events.filter((e) => e === "ORDER_ADJUSTED")).toHaveLength(1);
    expect(events.filter((e) => e === "MERCHANT_RECALLED")).toHaveLength(1);
    checkAndClose("merchant", screen);
  });
});
