/**
 * A merchant's availability (CONTRACT.md, Additions v2, kitchen operations): OPEN, BUSY or
 * PAUSED, set by the kitchen, dispatch or the platform over REST, or by the kitchen on its socket —
 * the same operation either way. Each change is a stream event without an order; SNAPSHOT and
 * `GET /api/merchants/:id` carry it; PAUSED refuses placements, BUSY lengthens the default prep.
 * (Timed states ending: availability-timers.test.ts; auto-pause: auto-pause.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { placeOrder, setupMerchant } from "./support/fixtures.ts";
import { checkAndClose } from "./support/frames.ts";
import { uniqueId } from "./support/http.ts";
import {
  callers,
  getMerchant,
  MINUTE,
  merchantEvents,
  orderAction,
  setAvailability,
  tryPlace,
} from "./support/kitchen.ts";
import { merchantLog, setRoomClock } from "./support/room-seams.ts";
import { act, barrier, openMerchantSocket, rid, streamCount } from "./support/sockets.ts";

describe("who may set and read availability", () => {
  it("REST: the merchant's own staff, dispatch and the platform may; another store's staff, a customer, a driver get 403", async () => {
    const { merchantId } = await setupMerchant();
    const who = await callers(merchantId);
    for (const name of ["otherMerchant", "customer", "driver"] as const) {
      expectError(await setAvailability(merchantId, who[name], { mode: "PAUSED" }), 403, "FORBIDDEN", name);
      expectError(await getMerchant(merchantId, who[name]), 403, "FORBIDDEN", name);
    }
    expect(await merchantLog(merchantId)).toEqual([]);

    const actors = [];
    for (const [name, id, role] of [
      ["own", "staff-1", "merchant"],
      ["dispatch", "dispatch-1", "dispatch"],
      ["platform", "platform-1", "platform"],
    ] as const) {
      const res = await setAvailability(merchantId, who[name], { mode: "BUSY", extraPrepMinutes: 5, reason: name });
      expect(res.status, name).toBe(200);
      expect(Object.keys(res.body)).toEqual(["availability"]);
      expect(res.body.availability).toMatchObject({ mode: "BUSY", extraPrepMinutes: 5, reason: name });
      expect((await getMerchant(merchantId, who[name])).body.availability).toEqual(res.body.availability);
      actors.push({ role, id });
    }
    const events = await merchantEvents(merchantId);
    expect(events.map((e) => [e.event, e.payload.actor])).toEqual(
      actors.map((a) => ["MERCHANT_AVAILABILITY_CHANGED", a]),
    );
  });

  it("a merchant that does not exist is 404, for dispatch as for its would-be staff", async () => {
    const ghost = uniqueId("ghost");
    expectError(await setAvailability(ghost, await tokens.dispatch(), { mode: "PAUSED" }), 404, "NOT_FOUND");
    expectError(await setAvailability(ghost, await tokens.merchant(ghost), { mode: "PAUSED" }), 404, "NOT_FOUND");
    expectError(await getMerchant(ghost, await tokens.dispatch()), 404, "NOT_FOUND");
  });

  it("socket: the kitchen's own screen may (ACK { availability }), and it is the same event as over REST", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const id = rid("pause");
    const ack = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "PAUSED", reason: "rush" }, id);
    expect(ack).toMatchObject({ event: "ACK", requestId: id, payload: { availability: { mode: "PAUSED" } } });
    expect(ack.seq).toBeUndefined();
    const [event] = await streamCount(screen, 1);
    expect(event).toMatchObject({
      event: "MERCHANT_AVAILABILITY_CHANGED",
      seq: 1,
      requestId: id,
      payload: { availability: ack.payload.availability, actor: { role: "merchant", id: "staff-1" } },
    });
    expect(event.payload.order).toBeUndefined();
    expect((await merchantLog(merchantId)).map((e) => e.via)).toEqual(["socket"]);
    checkAndClose("merchant", screen);
  });

  // The socket action is the same operation as its REST twin: dispatch may take it too.
  it("dispatch on the kitchen socket may set availability, as over REST", async () => {
    const { merchantId } = await setupMerchant();
    const ops = await openMerchantSocket(merchantId, await tokens.dispatch());
    try {
      const reply = await act(ops, "MERCHANT_SET_AVAILABILITY", { mode: "PAUSED" });
      expect(reply.event, JSON.stringify(reply.payload)).toBe("ACK");
    } finally {
      ops.close();
    }
  });
});

describe("bad requests", () => {
  it("a body the schema refuses is 400 with zod details, over REST and on the socket; nothing is committed", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const future = new Date(Date.now() + 30 * MINUTE).toISOString();
    const cases: [unknown, (string | number)[]][] = [
      [{ mode: "CLOSED" }, ["mode"]],
      [{}, ["mode"]],
      [{ mode: "OPEN", until: future }, ["until"]],
      [{ mode: "PAUSED", extraPrepMinutes: 5 }, ["extraPrepMinutes"]],
      [{ mode: "BUSY", extraPrepMinutes: 0 }, ["extraPrepMinutes"]],
      [{ mode: "BUSY", extraPrepMinutes: 121 }, ["extraPrepMinutes"]],
      [{ mode: "PAUSED", until: "tomorrow" }, ["until"]],
      [{ mode: "PAUSED", reason: "   " }, ["reason"]],
    ];
    for (const [body, path] of cases) {
      expectZod400(await setAvailability(merchantId, staff, body), path);
      const reply = await act(screen, "MERCHANT_SET_AVAILABILITY", body as Record<string, unknown>);
      expect(reply.event, JSON.stringify(body)).toBe("ERROR");
      expect(reply.payload.code).toBe("BAD_REQUEST");
      expect(Array.isArray(reply.payload.details), JSON.stringify(reply.payload)).toBe(true);
    }
    expect(await merchantLog(merchantId)).toEqual([]);
    checkAndClose("merchant", screen);
  });

  it("an `until` that is not in the future (room clock) or more than 7 days ahead is 400, the same on both channels", async () => {
    const { merchantId, staff } = await setupMerchant();
    const now = Date.now() + 60 * MINUTE;
    await setRoomClock(merchantId, now);
    const screen = await openMerchantSocket(merchantId, staff);
    for (const until of [now - 1, now, now + 7 * 24 * 60 * MINUTE + 1]) {
      const body = { mode: "PAUSED", until: new Date(until).toISOString() };
      const rest = expectError(await setAvailability(merchantId, staff, body), 400, "BAD_REQUEST");
      const reply = await act(screen, "MERCHANT_SET_AVAILABILITY", body);
      expect(reply.payload).toEqual(rest);
    }
    // Exactly 7 days is allowed.
    const week = { mode: "PAUSED", until: new Date(now + 7 * 24 * 60 * MINUTE).toISOString() };
    expect((await setAvailability(merchantId, staff, week)).status).toBe(200);
    expect((await merchantLog(merchantId)).length).toBe(1);
    checkAndClose("merchant", screen);
  });
});

describe("what a state does", () => {
  it("the change is on every screen with seq and actor but no order; SNAPSHOT and GET carry it", async () => {
    const { merchantId, staff } = await setupMerchant();
    const first = await openMerchantSocket(merchantId, staff);
    expect(first.envelopes[0].payload.merchant).toMatchObject({ availability: { mode: "OPEN" }, soldOut: [] });
    const second = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-2"));
    await placeOrder(merchantId);
    const until = new Date(Date.now() + 20 * MINUTE).toISOString();
    const res = await setAvailability(
      merchantId,
      await tokens.dispatch(),
      { mode: "PAUSED", until, reason: "fryer down" },
      "pause-1",
    );
    expect(res.status).toBe(200);
    expect(res.body.availability).toMatchObject({ mode: "PAUSED", until, reason: "fryer down" });
    expect(typeof res.body.availability.since).toBe("string");
    for (const s of [first, second]) {
      const events = await streamCount(s, 2);
      expect(events[1]).toEqual({
        event: "MERCHANT_AVAILABILITY_CHANGED",
        seq: 2,
        requestId: "pause-1",
        at: res.body.availability.since,
        payload: { availability: res.body.availability, actor: { role: "dispatch", id: "dispatch-1" } },
      });
    }
    const late = await openMerchantSocket(merchantId, staff);
    expect(late.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: 2 });
    expect(late.envelopes[0].payload.merchant.availability).toEqual(res.body.availability);
    expect((await getMerchant(merchantId, staff)).body.availability).toEqual(res.body.availability);
    checkAndClose("merchant", first, second, late);
  });

  it("PAUSED: a placement is 409 MERCHANT_PAUSED (details.until when timed) for customers and platforms alike; OPEN takes orders again", async () => {
    const { merchantId, staff } = await setupMerchant();
    const before = await placeOrder(merchantId);
    expect((await setAvailability(merchantId, staff, { mode: "PAUSED" })).status).toBe(200);
    const untimed = expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    expect((untimed.details as Record<string, unknown> | undefined)?.until).toBeUndefined();

    const until = new Date(Date.now() + 45 * MINUTE).toISOString();
    expect((await setAvailability(merchantId, staff, { mode: "PAUSED", until })).status).toBe(200);
    const timed = expectError(await tryPlace(merchantId), 409, "MERCHANT_PAUSED");
    expect(timed.details).toMatchObject({ until });
    const platform = await tryPlace(
      merchantId,
      { customerId: "cust-9", externalId: uniqueId("ext") },
      await callers(merchantId).then((c) => c.platform),
    );
    expect(expectError(platform, 409, "MERCHANT_PAUSED").details).toMatchObject({ until });

    // A pause stops new orders only: the one already on the board is still the kitchen's to take.
    expect((await orderAction(merchantId, before.id, "accept", staff)).status).toBe(200);
    expect((await merchantLog(merchantId)).map((e) => e.event)).toEqual([
      "ORDER_CREATED",
      "MERCHANT_AVAILABILITY_CHANGED",
      "MERCHANT_AVAILABILITY_CHANGED",
      "MERCHANT_ACCEPTED",
    ]);

    expect((await setAvailability(merchantId, staff, { mode: "OPEN" })).body.availability.mode).toBe("OPEN");
    expect((await tryPlace(merchantId)).status).toBe(201);
    // BUSY takes orders too.
    expect((await setAvailability(merchantId, staff, { mode: "BUSY" })).status).toBe(200);
    expect((await tryPlace(merchantId)).status).toBe(201);
  });

  it("BUSY adds extraPrepMinutes (10 unless named) to the accept default, single and bulk, never to an explicit prepMinutes", async () => {
    const { merchantId, staff } = await setupMerchant({ defaultPrepMinutes: 20 });
    const accept = async (body: Record<string, unknown> = {}) => {
      const order = await placeOrder(merchantId);
      const res = await orderAction(merchantId, order.id, "accept", staff, body);
      expect(res.status).toBe(200);
      const accepted = res.body as Order;
      expect(Date.parse(accepted.readyBy!) - Date.parse(accepted.acceptedAt!)).toBe(accepted.prepMinutes! * MINUTE);
      return accepted.prepMinutes;
    };
    expect(await accept()).toBe(20);
    const busy = await setAvailability(merchantId, staff, { mode: "BUSY", extraPrepMinutes: 15 });
    expect(busy.body.availability.extraPrepMinutes).toBe(15);
    expect(await accept()).toBe(35);
    expect(await accept({ prepMinutes: 5 })).toBe(5);
    const bulkOrder = await placeOrder(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);
    const bulk = await act(screen, "BULK_ACCEPT", { orderIds: [bulkOrder.id] });
    expect(bulk.payload.results[0].order.prepMinutes).toBe(35);

    expect((await setAvailability(merchantId, staff, { mode: "BUSY" })).body.availability.extraPrepMinutes).toBe(10);
    expect(await accept()).toBe(30);
    await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "OPEN" });
    expect(await accept()).toBe(20);
    await barrier(screen);
    checkAndClose("merchant", screen);
  });
});

describe("idempotency", () => {
  it("a retried change (same Idempotency-Key or requestId) applies once; the key with another body is 422", async () => {
    const { merchantId, staff } = await setupMerchant();
    const body = { mode: "PAUSED", reason: "rush" };
    const first = await setAvailability(merchantId, staff, body, "k-1");
    const again = await setAvailability(merchantId, staff, body, "k-1");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expectError(await setAvailability(merchantId, staff, { mode: "OPEN" }, "k-1"), 422, "IDEMPOTENCY_MISMATCH");

    const screen = await openMerchantSocket(merchantId, staff);
    const sameId = rid("busy");
    const a = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "BUSY" }, sameId);
    const b = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "BUSY" }, sameId);
    expect(b.payload).toEqual(a.payload);
    const mismatch = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "OPEN" }, sameId);
    expect(mismatch.payload.code).toBe("IDEMPOTENCY_MISMATCH");
    await barrier(screen);
    expect((await merchantEvents(merchantId)).map((e) => e.payload.availability.mode)).toEqual(["PAUSED", "BUSY"]);
    expect(screen.stream()).toHaveLength(1);
    checkAndClose("merchant", screen);
  });

  it("a socket requestId and a REST Idempotency-Key of the same staff member are one namespace", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const ack = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "PAUSED" }, "shared-1");
    const rest = await setAvailability(merchantId, staff, { mode: "PAUSED" }, "shared-1");
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual(ack.payload);
    const viaRest = await setAvailability(merchantId, staff, { mode: "BUSY", extraPrepMinutes: 7 }, "shared-2");
    const viaSocket = await act(screen, "MERCHANT_SET_AVAILABILITY", { mode: "BUSY", extraPrepMinutes: 7 }, "shared-2");
    expect(viaSocket).toMatchObject({ event: "ACK", payload: viaRest.body });
    expectError(await setAvailability(merchantId, staff, { mode: "OPEN" }, "shared-1"), 422, "IDEMPOTENCY_MISMATCH");
    await barrier(screen);
    expect((await merchantEvents(merchantId)).map((e) => [e.payload.availability.mode, e.requestId])).toEqual([
      ["PAUSED", "shared-1"],
      ["BUSY", "shared-2"],
    ]);
    checkAndClose("merchant", screen);
  });

  it("dispatch's key is bound to the merchant it was first used at: the same key at another merchant is 422", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const dispatch = await tokens.dispatch("dispatch-keys");
    const key = uniqueId("key");
    expect((await setAvailability(a.merchantId, dispatch, { mode: "PAUSED" }, key)).status).toBe(200);
    expect((await setAvailability(a.merchantId, dispatch, { mode: "PAUSED" }, key)).status).toBe(200);
    expectError(await setAvailability(b.merchantId, dispatch, { mode: "PAUSED" }, key), 422, "IDEMPOTENCY_MISMATCH");
    expect(await merchantEvents(a.merchantId)).toHaveLength(1);
    expect(await merchantEvents(b.merchantId)).toHaveLength(0);
  });
});
