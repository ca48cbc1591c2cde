/**
 * "Nothing lost": a socket that comes back with ?since=N&epoch=E gets exactly the events it
 * missed, in order, then REPLAY_DONE — also when the room was evicted meanwhile; a since the room
 * can no longer serve (wrong epoch, pruned, from the future) gets a SNAPSHOT instead.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { advanceRoomClock, oldestKeptSeq, RETAIN_EVENTS, RETAIN_MS, updatePrepTimeMany } from "./support/room-seams.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import {
  act,
  customerWatching,
  openMerchantSocket,
  openOrderSocket,
  streamCount,
  type TestSocket,
  waitFor,
} from "./support/sockets.ts";

/** 50 changes, REST and socket interleaved: 10 orders × (place, accept, preparing, prep time, ready). */
async function fiftyChanges(merchantId: string, staff: string, other: TestSocket): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const order = await placeOrder(merchantId, await tokens.customer(`cust-${i}`));
    expect((await act(other, "MERCHANT_ACCEPT", { orderId: order.id, prepMinutes: 10 + i })).event).toBe("ACK");
    expect(
      (await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/preparing`, { token: staff })).status,
    ).toBe(200);
    expect((await act(other, "MERCHANT_UPDATE_PREP_TIME", { orderId: order.id, prepMinutes: 30 + i })).event).toBe(
      "ACK",
    );
    if (i % 2 === 0) expect((await act(other, "MERCHANT_MARK_READY", { orderId: order.id })).event).toBe("ACK");
    else
      expect(
        (await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/ready`, { token: staff })).status,
      ).toBe(200);
  }
}

/** Opens the screen that will go away, with a little history first; returns where it stopped. */
async function screenThatLeaves(merchantId: string, staff: string) {
  const leaver = await openMerchantSocket(merchantId, staff);
  const epoch = leaver.envelopes[0].payload.epoch as string;
  await placeOrder(merchantId);
  await placeOrder(merchantId);
  const seen = await streamCount(leaver, 2);
  const since = seen.at(-1).seq as number;
  leaver.close();
  await leaver.waitClosed();
  return { epoch, since, leaver };
}

describe("merchant room resume", () => {
  it("a screen that was away for 50 changes (REST and socket) gets exactly those 50, in order, then REPLAY_DONE; then live", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-other"));
    const { epoch, since, leaver } = await screenThatLeaves(merchantId, staff);
    expect(since).toBe(2);
    checkFrames(leaver, "merchant");

    await fiftyChanges(merchantId, staff, other);
    const live = (await streamCount(other, 52)).slice(2);

    const back = await openMerchantSocket(merchantId, staff, { since: String(since), epoch });
    const replayed = back.stream();
    expect(replayed).toHaveLength(50);
    expect(replayed.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => since + 1 + i));
    // The very envelopes the other screen saw live, byte for byte in content.
    expect(replayed).toEqual(live);
    const done = back.envelopes.at(-1);
    expect(done).toMatchObject({ event: "REPLAY_DONE", seq: since + 50, payload: { epoch, replayed: 50 } });
    expect(back.envelopes.filter((e) => e.event === "SNAPSHOT")).toEqual([]);

    // After the replay, live events continue from the next seq.
    await placeOrder(merchantId);
    const [next] = (await streamCount(back, 51)).slice(50);
    expect(next).toMatchObject({ event: "ORDER_CREATED", seq: since + 51 });
    checkFrames(back, "merchant", { since });
    checkFrames(other, "merchant");
    back.close();
    other.close();
  });

  it("the same after the room was evicted while the screen was away (and once in the middle of the changes)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await openMerchantSocket(merchantId, await tokens.merchant(merchantId, "staff-other"));
    const { epoch, since } = await screenThatLeaves(merchantId, staff);

    await fiftyChanges(merchantId, staff, other);
    await evictDurableObject(merchantStub(merchantId));
    // The room's memory is gone: the replay below comes from storage alone.
    const live = (await streamCount(other, 52)).slice(2);

    const back = await openMerchantSocket(merchantId, staff, { since: String(since), epoch });
    expect(back.stream()).toEqual(live);
    expect(back.envelopes.at(-1)).toMatchObject({ event: "REPLAY_DONE", seq: 52, payload: { epoch, replayed: 50 } });

    // A second absence spanning an eviction in the middle of the changes.
    back.close();
    await back.waitClosed();
    const o1 = await placeOrder(merchantId);
    await api("POST", `/api/merchants/${merchantId}/orders/${o1.id}/accept`, { token: staff, body: {} });
    await evictDurableObject(merchantStub(merchantId));
    expect((await act(other, "MERCHANT_MARK_READY", { orderId: o1.id })).event).toBe("ACK");
    await placeOrder(merchantId);
    const again = await openMerchantSocket(merchantId, staff, { since: "52", epoch });
    expect(again.stream().map((e) => [e.seq, e.event])).toEqual([
      [53, "ORDER_CREATED"],
      [54, "MERCHANT_ACCEPTED"],
      [55, "MERCHANT_READY"],
      [56, "ORDER_CREATED"],
    ]);
    expect(again.envelopes.at(-1)).toMatchObject({ event: "REPLAY_DONE", seq: 56, payload: { epoch, replayed: 4 } });
    checkFrames(again, "merchant", { since: 52 });
    checkFrames(other, "merchant");
    again.close();
    other.close();
  });

  it("since equal to the current seq: REPLAY_DONE with nothing replayed", async () => {
    const { merchantId, staff } = await setupMerchant();
    const { epoch, since } = await screenThatLeaves(merchantId, staff);
    const back = await openMerchantSocket(merchantId, staff, { since: String(since), epoch });
    expect(back.envelopes).toEqual([
      expect.objectContaining({ event: "REPLAY_DONE", seq: since, payload: { epoch, replayed: 0 } }),
    ]);
    checkFrames(back, "merchant", { since });
    back.close();
  });

  it("a wrong epoch, a since from the future, or a malformed since: SNAPSHOT with the room's seq and epoch", async () => {
    const { merchantId, staff } = await setupMerchant();
    const { epoch, since } = await screenThatLeaves(merchantId, staff);
    const cases: Array<Record<string, string>> = [
      { since: String(since - 1), epoch: crypto.randomUUID() },
      { since: "0", epoch: `${epoch}x` },
      { since: String(since + 1), epoch },
      { since: "1000000", epoch },
      { since: "-1", epoch },
      { since: "1.5", epoch },
      { since: "abc", epoch },
      { since: "0" }, // no epoch: cannot prove it is the same numbering
    ];
    for (const query of cases) {
      const socket = await openMerchantSocket(merchantId, staff, query);
      const [snapshot] = checkFrames(socket, "merchant");
      expect(snapshot, JSON.stringify(query)).toMatchObject({ event: "SNAPSHOT", seq: since, payload: { epoch } });
      expect(snapshot.payload.orders).toHaveLength(2);
      expect(socket.envelopes).toHaveLength(1);
      socket.close();
    }
  });

  it("a since older than what the room keeps (beyond the last 10,000 events and older than 24 h) gets a SNAPSHOT; the kept suffix still replays", async () => {
    // The clock jumps a day with no screen connected: no auto-pause event in the middle of the count.
    const { merchantId, staff } = await setupMerchant({ autoPause: { afterExpiredInARow: 3, noScreenMinutes: 0 } });
    const order = await placeOrder(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);
    const epoch = screen.envelopes[0].payload.epoch as string;
    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    screen.close();

    // More than RETAIN_EVENTS real changes, made through the room's own operation (the one the
    // socket action calls), so the log, the outbox and the order room all carry them.
    // Yielding every 100 changes, as a busy kitchen's room would between frames, so its own
    // background work (outbox delivery) runs meanwhile.
    const extra = RETAIN_EVENTS + 20;
    await updatePrepTimeMany(merchantId, order.id, extra);
    const total = 2 + extra;
    // The outbox must be drained before the log may drop anything (it still needs the events).
    await waitFor(
      async () => (await merchantStub(merchantId).deliverPending()).pending === 0,
      120_000,
      "outbox drained",
    );
    expect((await orderStub(order.id).streamInfo()).seq).toBe(total);

    // Housekeeping now (a fresh instance, so it is due) keeps everything: none of it is 24 h old.
    await evictDurableObject(merchantStub(merchantId));
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);
    expect(await oldestKeptSeq(merchantId)).toBe(1);
    const full = await openMerchantSocket(merchantId, staff, { since: "1", epoch });
    await full.until((envs) => envs.some((e) => e.event === "REPLAY_DONE"), 60_000, "REPLAY_DONE");
    expect(full.stream()).toHaveLength(total - 1);
    full.close();

    // A day and more later, the room's housekeeping prunes.
    await advanceRoomClock(merchantId, RETAIN_MS + 60 * 60 * 1000);
    expect(await runDurableObjectAlarm(merchantStub(merchantId))).toBe(true);
    expect(await oldestKeptSeq(merchantId)).toBe(total - RETAIN_EVENTS + 1);

    const tooOld = await openMerchantSocket(merchantId, staff, { since: "1", epoch });
    expect(tooOld.envelopes).toHaveLength(1);
    expect(tooOld.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: total, payload: { epoch } });
    const justTooOld = await openMerchantSocket(merchantId, staff, { since: String(total - RETAIN_EVENTS - 1), epoch });
    expect(justTooOld.envelopes[0]).toMatchObject({ event: "SNAPSHOT", seq: total });

    // Exactly the last RETAIN_EVENTS are still served.
    const kept = await openMerchantSocket(merchantId, staff, { since: String(total - RETAIN_EVENTS), epoch });
    await kept.until((envs) => envs.some((e) => e.event === "REPLAY_DONE"), 60_000, "REPLAY_DONE");
    const replayed = kept.stream();
    expect(replayed).toHaveLength(RETAIN_EVENTS);
    expect(replayed[0].seq).toBe(total - RETAIN_EVENTS + 1);
    expect(replayed.at(-1).seq).toBe(total);
    expect(kept.envelopes.at(-1)).toMatchObject({
      event: "REPLAY_DONE",
      seq: total,
      payload: { replayed: RETAIN_EVENTS },
    });
    // Replays are coalesced into a bounded number of frames, not one frame per event.
    expect(kept.frames.length).toBeLessThan(RETAIN_EVENTS / 10);
    for (const f of kept.frames) expect(f.length).toBeLessThanOrEqual(1024 * 1024);
    checkFrames(kept, "merchant", { since: total - RETAIN_EVENTS });
    tooOld.close();
    justTooOld.close();
    kept.close();
  }, 240_000);

  it("an eviction that closes the socket: the client sees the close, resumes with since, misses nothing, acts again", async () => {
    const { merchantId, staff } = await setupMerchant();
    const screen = await openMerchantSocket(merchantId, staff);
    const epoch = screen.envelopes[0].payload.epoch;
    await placeOrder(merchantId);
    await streamCount(screen, 1);
    await evictDurableObject(merchantStub(merchantId), { webSockets: "close" });
    const closed = await screen.waitClosed();
    expect(closed.code).not.toBe(1000);
    const order = await placeOrder(merchantId);
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff, body: {} });
    const back = await openMerchantSocket(merchantId, staff, { since: "1", epoch });
    expect(back.stream().map((e) => [e.seq, e.event])).toEqual([
      [2, "ORDER_CREATED"],
      [3, "MERCHANT_ACCEPTED"],
    ]);
    expect(back.envelopes.at(-1)).toMatchObject({ event: "REPLAY_DONE", seq: 3, payload: { epoch } });
    expect((await act(back, "MERCHANT_MARK_READY", { orderId: order.id })).event).toBe("ACK");
    checkFrames(back, "merchant", { since: 1 });
    back.close();
  });
});

describe("order room resume", () => {
  it("a customer who drops off gets exactly what it missed, also after the order room was evicted; a wrong epoch gets a SNAPSHOT", async () => {
    const { merchantId, staff, customerToken, order, phone } = await customerWatching("cust-resume", {
      fromStart: true,
    });
    const screen = await openMerchantSocket(merchantId, staff);
    const { epoch } = await orderStub(order.id).streamInfo();
    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    await streamCount(phone, 2);
    phone.close();
    await phone.waitClosed();

    await act(screen, "MERCHANT_UPDATE_PREP_TIME", { orderId: order.id, prepMinutes: 40 });
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/preparing`, { token: staff });
    await flushOutbox(merchantId);
    await evictDurableObject(orderStub(order.id));
    await act(screen, "MERCHANT_MARK_READY", { orderId: order.id });
    await api("POST", `/api/orders/${order.id}/driver`, {
      token: await tokens.dispatch(),
      body: { driverId: "drv-r", name: "Rae" },
    });
    await flushOutbox(merchantId);

    const back = await openOrderSocket(order.id, customerToken, { since: "2", epoch });
    expect(back.stream().map((e) => [e.seq, e.event, e.payload.order.version])).toEqual([
      [3, "PREP_TIME_UPDATED", 3],
      [4, "MERCHANT_PREPARING", 4],
      [5, "MERCHANT_READY", 5],
      [6, "DRIVER_ASSIGNED", 6],
    ]);
    expect(back.envelopes.at(-1)).toMatchObject({ event: "REPLAY_DONE", seq: 6, payload: { epoch, replayed: 4 } });
    checkFrames(back, "order", { since: 2 });

    // Live after the replay.
    await api("POST", `/api/orders/${order.id}/pickup`, { token: await tokens.driver("drv-r") });
    const [picked] = (await streamCount(back, 5)).slice(4);
    expect(picked).toMatchObject({ event: "ORDER_PICKED_UP", seq: 7 });

    for (const query of [
      { since: "2", epoch: "not-the-epoch" },
      { since: "99", epoch },
    ]) {
      const fresh = await openOrderSocket(order.id, customerToken, query);
      expect(fresh.envelopes).toHaveLength(1);
      expect(fresh.envelopes[0]).toMatchObject({
        event: "SNAPSHOT",
        seq: 7,
        payload: { epoch, order: { version: 7, status: "PICKED_UP" } },
      });
      checkAndClose("order", fresh);
    }
    back.close();
    screen.close();
  });
});
