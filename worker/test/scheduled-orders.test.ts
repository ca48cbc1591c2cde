/**
 * Scheduled orders (CONTRACT.md, Additions v2): `requestedFor` at least 15 min and at most 7 days
 * ahead (the room's clock); the order carries `fireAt` = requestedFor − prep time (the default,
 * plus BUSY's extra; on accept, the accepted prepMinutes) and at fireAt the room's alarm puts
 * ORDER_FIRED on the stream, by the system, with `firedAt`. Accepting aims `readyBy` at
 * requestedFor; the acceptance deadline still counts from placement.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, merchantStub } from "./support/fixtures.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import { api, uniqueId } from "./support/http.ts";
import {
  alarmAt,
  merchantAt,
  merchantStream,
  MINUTE,
  orderAction,
  platformToken,
  setAvailability,
  tryPlace,
} from "./support/kitchen.ts";
import { barrier, openMerchantSocket, openOrderSocketFromStart, streamCount } from "./support/sockets.ts";

const DAY = 24 * 60 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

async function schedule(merchantId: string, requestedFor: number, tok?: string): Promise<Order> {
  const res = await tryPlace(merchantId, { requestedFor: iso(requestedFor) }, tok);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const fired = async (merchantId: string) =>
  (await merchantStream(merchantId)).filter((e) => e.event === "ORDER_FIRED").map((e) => e.payload.order.id);

describe("placing a scheduled order", () => {
  it("requestedFor must be 15 min to 7 days ahead by the room's clock: outside is 400, a non-time zod 400", async () => {
    const { merchantId, t0 } = await merchantAt();
    for (const ahead of [-MINUTE, 0, 15 * MINUTE - 1_000, 7 * DAY + 1_000]) {
      const err = expectError(await tryPlace(merchantId, { requestedFor: iso(t0 + ahead) }), 400, "BAD_REQUEST");
      expect(err.message).toMatch(/15 minutes/);
    }
    expectZod400(await tryPlace(merchantId, { requestedFor: "tomorrow at 7" }), ["requestedFor"]);
    expectZod400(await tryPlace(merchantId, { requestedFor: 1_900_000_000 }), ["requestedFor"]);
    expect((await merchantStream(merchantId)).length).toBe(0);
    for (const ahead of [15 * MINUTE, 7 * DAY]) await schedule(merchantId, t0 + ahead);
    // A platform schedules for its customer the same way.
    const viaPlatform = await tryPlace(
      merchantId,
      { requestedFor: iso(t0 + DAY), customerId: "cust-p", externalId: uniqueId("ext") },
      await platformToken(),
    );
    expect(viaPlatform.status).toBe(201);
    expect(viaPlatform.body.requestedFor).toBe(iso(t0 + DAY));
  });

  it("the order carries requestedFor and fireAt = requestedFor − the default prep (+ BUSY's extra); acceptBy still counts from placement", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ defaultPrepMinutes: 20 });
    const requestedFor = t0 + 2 * 60 * MINUTE;
    const order = await schedule(merchantId, requestedFor);
    expect(order).toMatchObject({
      status: "PLACED",
      placedAt: iso(t0),
      acceptBy: iso(t0 + 10 * MINUTE),
      requestedFor: iso(requestedFor),
      fireAt: iso(requestedFor - 20 * MINUTE),
    });
    expect(order.firedAt).toBeUndefined();
    const read = await api<Order>("GET", `/api/orders/${order.id}`, { token: await tokens.customer() });
    expect(read.body).toEqual(order);

    await setAvailability(merchantId, staff, { mode: "BUSY", extraPrepMinutes: 15 });
    const busy = await schedule(merchantId, requestedFor);
    expect(busy.fireAt).toBe(iso(requestedFor - 35 * MINUTE));
  });

  it("accept aims readyBy at requestedFor and moves fireAt to requestedFor − prepMinutes; a prep-time change moves it again", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ defaultPrepMinutes: 20 });
    const requestedFor = t0 + 3 * 60 * MINUTE;
    const order = await schedule(merchantId, requestedFor);
    const accepted = (await orderAction(merchantId, order.id, "accept", staff, { prepMinutes: 30 })).body;
    expect(accepted).toMatchObject({
      status: "ACCEPTED",
      prepMinutes: 30,
      readyBy: iso(requestedFor),
      fireAt: iso(requestedFor - 30 * MINUTE),
    });
    const longer = (await orderAction(merchantId, order.id, "prep-time", staff, { prepMinutes: 45 })).body;
    expect(longer).toMatchObject({ readyBy: iso(requestedFor), fireAt: iso(requestedFor - 45 * MINUTE) });

    await setAvailability(merchantId, staff, { mode: "BUSY", extraPrepMinutes: 10 });
    const other = await schedule(merchantId, requestedFor);
    const byDefault = (await orderAction(merchantId, other.id, "accept", staff)).body;
    expect(byDefault).toMatchObject({
      prepMinutes: 30,
      readyBy: iso(requestedFor),
      fireAt: iso(requestedFor - 30 * MINUTE),
    });
  });
});

describe("firing", () => {
  it("at fireAt (not 1 ms before) the alarm fires it: ORDER_FIRED by the system with firedAt, on the board and relayed without merchantAction; once", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const screen = await openMerchantSocket(merchantId, staff);
    const requestedFor = t0 + 2 * 60 * MINUTE;
    const order = await schedule(merchantId, requestedFor);
    const accepted = (await orderAction(merchantId, order.id, "accept", staff, { prepMinutes: 25 })).body;
    const fireAt = Date.parse(accepted.fireAt!);
    expect(fireAt).toBe(requestedFor - 25 * MINUTE);

    await alarmAt(merchantId, fireAt - 1);
    expect(await fired(merchantId)).toEqual([]);
    await alarmAt(merchantId, fireAt);
    const [, , event] = await streamCount(screen, 3);
    expect(event).toMatchObject({
      event: "ORDER_FIRED",
      seq: 3,
      at: iso(fireAt),
      payload: { actor: { role: "system", id: "schedule" } },
    });
    expect(event.requestId).toBeUndefined();
    expect(event.payload.order).toEqual({
      ...accepted,
      firedAt: iso(fireAt),
      version: accepted.version + 1,
      updatedAt: iso(fireAt),
    });
    expect((await merchantStream(merchantId)).map((e) => e.via)).toEqual(["rest", "rest", "system"]);

    await alarmAt(merchantId, fireAt + 5 * MINUTE);
    await barrier(screen);
    expect(screen.stream().map((e) => e.event)).toEqual(["ORDER_CREATED", "MERCHANT_ACCEPTED", "ORDER_FIRED"]);

    await flushOutbox(merchantId);
    const phone = await openOrderSocketFromStart(order.id, await tokens.customer());
    const relayed = await streamCount(phone, 3);
    expect(relayed[2]).toMatchObject({ event: "ORDER_FIRED", payload: { order: event.payload.order } });
    expect(relayed[2].payload.merchantAction).toBeUndefined();
    checkFrames(phone, "order", { since: 0 });
    phone.close();
    checkAndClose("merchant", screen);
  });

  it("an order still PLACED at fireAt fires too, and can then be accepted", async () => {
    const { merchantId, staff, t0 } = await merchantAt({ acceptWindowSeconds: 3600 });
    const order = await schedule(merchantId, t0 + 30 * MINUTE);
    expect(order.fireAt).toBe(iso(t0 + 15 * MINUTE));
    await alarmAt(merchantId, t0 + 15 * MINUTE);
    expect(await fired(merchantId)).toEqual([order.id]);
    const accepted = await orderAction(merchantId, order.id, "accept", staff);
    expect(accepted.body).toMatchObject({ status: "ACCEPTED", firedAt: iso(t0 + 15 * MINUTE) });
    // Fired is fired: a later accept does not schedule it again.
    await alarmAt(merchantId, t0 + 29 * MINUTE);
    expect(await fired(merchantId)).toEqual([order.id]);
  });

  it("a prep longer than the time left: readyBy is acceptance + prep, and the order fires at once", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const order = await schedule(merchantId, t0 + 20 * MINUTE);
    const accepted = (await orderAction(merchantId, order.id, "accept", staff, { prepMinutes: 40 })).body;
    expect(accepted.readyBy).toBe(iso(t0 + 40 * MINUTE));
    expect(accepted.fireAt).toBe(iso(t0 - 20 * MINUTE));
    await alarmAt(merchantId, t0 + 1);
    expect(await fired(merchantId)).toEqual([order.id]);
  });

  it("rejected, cancelled, expired or started early: it never fires", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const requestedFor = t0 + 4 * 60 * MINUTE;
    const rejected = await schedule(merchantId, requestedFor);
    await orderAction(merchantId, rejected.id, "reject", staff, { reason: "not open then" });
    const cancelled = await schedule(merchantId, requestedFor);
    await api("POST", `/api/orders/${cancelled.id}/cancel`, { token: await tokens.customer(), body: { reason: "no" } });
    const early = await schedule(merchantId, requestedFor);
    await orderAction(merchantId, early.id, "accept", staff);
    await orderAction(merchantId, early.id, "preparing", staff);
    const expires = await schedule(merchantId, requestedFor);
    await alarmAt(merchantId, t0 + 10 * MINUTE);
    const statuses = async () =>
      Promise.all(
        [rejected, cancelled, early, expires].map(
          async (o) => (await api<Order>("GET", `/api/orders/${o.id}`, { token: staff })).body.status,
        ),
      );
    expect(await statuses()).toEqual(["REJECTED", "CANCELLED", "PREPARING", "EXPIRED"]);
    await alarmAt(merchantId, requestedFor);
    expect(await fired(merchantId)).toEqual([]);
  });

  it("the fire time survives eviction", async () => {
    const { merchantId, staff, t0 } = await merchantAt();
    const order = await schedule(merchantId, t0 + 60 * MINUTE);
    const accepted = (await orderAction(merchantId, order.id, "accept", staff)).body;
    await evictDurableObject(merchantStub(merchantId));
    await alarmAt(merchantId, Date.parse(accepted.fireAt!));
    expect(await fired(merchantId)).toEqual([order.id]);
    const read = await api<Order>("GET", `/api/orders/${order.id}`, { token: staff });
    expect(read.body.firedAt).toBe(accepted.fireAt);
  });
});
