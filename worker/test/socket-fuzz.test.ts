/**
 * Property-based: whatever a client throws at a merchant room — random JSON, mutated valid
 * actions, huge and deeply nested values, prototype-pollution keys, odd Unicode — the room answers
 * only with contract frames (never an INTERNAL error), keeps answering a valid action correctly,
 * its log stays gap-free with exactly one event per acknowledged change, and nothing reaches
 * another merchant's room.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MERCHANT_ACTION_NAMES, MAX_CLIENT_FRAME_BYTES, type Order } from "../../schema/index.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { pollutedKeys, pollutedKeysInRoom } from "./support/room-seams.ts";
import { checkFrames } from "./support/frames.ts";
import { act, barrier, openMerchantSocket, rid, type TestSocket } from "./support/sockets.ts";

const encoder = new TextEncoder();
/** Frames a fuzz socket may send before it is replaced (the per-socket limit is 200 / 10 s). */
const FRAMES_PER_SOCKET = 150;

/** Any UTF-16 code unit, lone surrogates included (they survive JSON escapes into the room). */
const codeUnitString = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });

/** Raw JSON text with own `__proto__` / `constructor` keys (JSON.parse makes them own properties). */
function pollutionFrames(orderId: string): fc.Arbitrary<string> {
  const payload = JSON.stringify({ orderId });
  return fc.constantFrom(
    `{"__proto__":{"polluted":"p1"},"action":"MERCHANT_ACCEPT","requestId":"pp-1","payload":${payload}}`,
    `{"action":"MERCHANT_ACCEPT","requestId":"pp-2","payload":{"__proto__":${payload}}}`,
    `{"action":"MERCHANT_ACCEPT","requestId":"pp-3","__proto__":{"payload":${payload}}}`,
    `{"constructor":{"prototype":{"polluted":"p2"}},"action":"MERCHANT_MARK_READY","requestId":"pp-4","payload":${payload}}`,
    `{"action":"__proto__","requestId":"pp-5","payload":{}}`,
    `{"action":"constructor","requestId":"pp-6","payload":{}}`,
    `{"action":"toString","requestId":"pp-7","payload":{}}`,
    `{"action":"hasOwnProperty","requestId":"pp-8","payload":{}}`,
    `{"action":"BULK_ACCEPT","requestId":"pp-9","payload":{"orderIds":{"__proto__":[],"length":1,"0":"${orderId}"}}}`,
    `{"action":"BULK_ACCEPT","requestId":"pp-10","payload":{"orderIds":["__proto__","constructor","prototype"]}}`,
    `{"action":"MERCHANT_ACCEPT","requestId":"__proto__","payload":{"orderId":"__proto__.x"}}`,
    `[{"__proto__":{"polluted":"p3"}}]`,
    `{"__proto__":null}`,
  );
}

/** Huge or deeply nested values, each frame kept under 64 KiB. */
function hugeFrames(orderId: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: 1, max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
    fc
      .integer({ min: 1, max: 6_000 })
      .map(
        (d) =>
          `{"action":"MERCHANT_ACCEPT","requestId":"deep","payload":{"orderId":${'{"a":'.repeat(d)}1${"}".repeat(d)}}}`,
      ),
    fc
      .integer({ min: 1, max: 15_000 })
      .map(
        (d) => `{"action":"BULK_ACCEPT","requestId":"deep2","payload":{"orderIds":${"[".repeat(d)}${"]".repeat(d)}}}`,
      ),
    fc
      .integer({ min: 1, max: 60_000 })
      .map((n) =>
        JSON.stringify({ action: "MERCHANT_REJECT", requestId: "long", payload: { orderId, reason: "r".repeat(n) } }),
      ),
    fc.integer({ min: 1, max: 4_000 }).map((n) =>
      JSON.stringify({
        action: "MERCHANT_ACCEPT",
        requestId: "keys",
        payload: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
      }),
    ),
    fc.constantFrom(
      `{"action":"MERCHANT_ACCEPT","requestId":"num","payload":{"orderId":"${orderId}","prepMinutes":1e400}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"num2","payload":{"orderId":"${orderId}","prepMinutes":-0}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"num3","payload":{"orderId":"${orderId}","prepMinutes":5.000000000000001}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"num4","payload":{"orderId":"${orderId}","prepMinutes":123456789012345678901234567890}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"\\ud800","payload":{"orderId":"${orderId}x"}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"\\udfff","payload":{"orderId":"${orderId}x"}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"a\\u0000b","payload":{"orderId":"${orderId}x"}}`,
      `{"action":"MERCHANT_ACCEPT","requestId":"x","payload":{"orderId":"${orderId}"},"action":"MERCHANT_REJECT"}`,
    ),
  );
}

/** A valid-looking action, then a few mutations of it. */
function mutatedActions(orderIds: string[]): fc.Arbitrary<string> {
  const orderId = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...orderIds) },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  // Well-formed actions on real orders (so the fuzz also commits changes), and loose ones.
  const knownId = fc.constantFrom(...orderIds);
  const prepMinutes = fc.integer({ min: 1, max: 180 });
  const requestId = fc.string({ minLength: 1, maxLength: 64 });
  const wellFormed = fc.oneof(
    fc.record({
      action: fc.constant("MERCHANT_ACCEPT"),
      requestId,
      payload: fc.record({ orderId: knownId, prepMinutes }, { requiredKeys: ["orderId"] }),
    }),
    fc.record({
      action: fc.constant("MERCHANT_REJECT"),
      requestId,
      payload: fc.record({ orderId: knownId, reason: fc.string({ minLength: 1, maxLength: 30 }) }),
    }),
    fc.record({
      action: fc.constantFrom("MERCHANT_MARK_PREPARING", "MERCHANT_MARK_READY"),
      requestId,
      payload: fc.record({ orderId: knownId }),
    }),
    fc.record({
      action: fc.constant("MERCHANT_UPDATE_PREP_TIME"),
      requestId,
      payload: fc.record({ orderId: knownId, prepMinutes }),
    }),
    fc.record({
      action: fc.constantFrom("BULK_ACCEPT", "BULK_MARK_READY"),
      requestId,
      payload: fc.record(
        { orderIds: fc.uniqueArray(knownId, { minLength: 1, maxLength: 6 }), prepMinutes },
        { requiredKeys: ["orderIds"] },
      ),
    }),
  );
  const loose = fc.record({
    action: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...MERCHANT_ACTION_NAMES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    ),
    requestId: fc.oneof(
      { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
      { weight: 1, arbitrary: codeUnitString(70) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
    ),
    payload: fc.record(
      {
        orderId,
        orderIds: fc.array(orderId, { maxLength: 6 }),
        prepMinutes: fc.oneof(fc.integer({ min: -3, max: 200 }), fc.double(), fc.jsonValue({ maxDepth: 1 })),
        reason: fc.oneof(fc.string({ maxLength: 40 }), codeUnitString(20), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
  });
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("drop" as const), key: fc.constantFrom("action", "requestId", "payload") }),
    fc.record({
      kind: fc.constant("set" as const),
      key: fc.constantFrom("action", "requestId", "payload", "__proto__", "constructor", "prototype", "extra"),
      value: fc.jsonValue({ maxDepth: 3 }),
    }),
    fc.record({ kind: fc.constant("wrap" as const) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("append" as const), junk: fc.string({ maxLength: 5 }) }),
  );
  const base = fc.oneof(wellFormed, loose);
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([frame, mutations]) => {
    let value: unknown = { ...frame };
    let text: string | null = null;
    for (const m of mutations) {
      if (text !== null) break;
      if (m.kind === "wrap") value = [value];
      else if (m.kind === "truncate") text = JSON.stringify(value).slice(0, m.at % (JSON.stringify(value).length + 1));
      else if (m.kind === "append") text = JSON.stringify(value) + m.junk;
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
        if (m.kind === "drop") delete copy[m.key];
        // defineProperty: a key named __proto__ becomes an own property, as JSON.parse makes it.
        else
          Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
        value = copy;
      }
    }
    return text ?? JSON.stringify(value);
  });
}

describe("fuzzing a merchant room socket", () => {
  it("random and mutated frames never break the room, its log, or another merchant", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const orders: Order[] = [];
    for (let i = 0; i < 20; i++) orders.push(await placeOrder(a.merchantId, await tokens.customer(`fuzz-${i % 4}`)));
    const probeOrder = await placeOrder(a.merchantId);
    const foreign = await placeOrder(b.merchantId);
    const bScreen = await openMerchantSocket(b.merchantId, b.staff);
    const bSeq = bScreen.envelopes[0].seq as number;
    const watcher = await openMerchantSocket(a.merchantId, await tokens.merchant(a.merchantId, "watcher"));
    const startSeq = watcher.envelopes[0].seq as number;
    const prober = await openMerchantSocket(a.merchantId, a.staff);
    expect((await act(prober, "MERCHANT_ACCEPT", { orderId: probeOrder.id })).event).toBe("ACK");

    const pool = [...orders.map((o) => o.id), foreign.id, `${a.merchantId}.missing`, probeOrder.id.replace(/.$/, "_")];
    const frameArb = fc.oneof(
      { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
      { weight: 1, arbitrary: codeUnitString(100) },
      { weight: 6, arbitrary: mutatedActions(pool) },
      { weight: 2, arbitrary: pollutionFrames(orders[0]!.id) },
      { weight: 1, arbitrary: hugeFrames(orders[1]!.id) },
    );

    const sockets: TestSocket[] = [];
    let socket = await openMerchantSocket(a.merchantId, a.staff);
    sockets.push(socket);
    let sent = 0;
    let probes = 0;
    let prep = 1;

    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), async (frames) => {
        if (sent + frames.length > FRAMES_PER_SOCKET) {
          socket = await openMerchantSocket(a.merchantId, a.staff);
          sockets.push(socket);
          sent = 0;
        }
        for (const f of frames) {
          expect(encoder.encode(f).byteLength).toBeLessThanOrEqual(MAX_CLIENT_FRAME_BYTES);
          socket.send(f);
          sent++;
        }
        await barrier(socket);
        expect(socket.closed, `socket closed by ${JSON.stringify(frames).slice(0, 300)}`).toBeNull();
        const internal = socket.envelopes.find((e) => e.event === "ERROR" && e.payload.code === "INTERNAL");
        expect(internal, `INTERNAL after ${JSON.stringify(frames).slice(0, 500)}`).toBeUndefined();
        // The room still answers a valid action correctly, on the fuzzed socket and another.
        prep = (prep % 180) + 1;
        const probe = await act(
          socket,
          "MERCHANT_UPDATE_PREP_TIME",
          { orderId: probeOrder.id, prepMinutes: prep },
          rid("probe"),
        );
        sent++;
        expect(probe, JSON.stringify(frames).slice(0, 500)).toMatchObject({
          event: "ACK",
          payload: { order: { id: probeOrder.id, prepMinutes: prep } },
        });
        probes++;
      }),
      { numRuns: 150, interruptAfterTimeLimit: 120_000 },
    );
    expect(probes).toBeGreaterThan(20);

    // Every frame any fuzz socket got is a contract frame.
    for (const s of [...sockets, prober]) checkFrames(s, "merchant");
    await barrier(watcher);
    const watched = checkFrames(watcher, "merchant").filter((e) => typeof e.seq === "number" && e.event !== "SNAPSHOT");

    // Gap-free, and exactly one event per acknowledged change (by order id and version).
    const replay = await openMerchantSocket(a.merchantId, a.staff, {
      since: String(startSeq),
      epoch: watcher.envelopes[0].payload.epoch,
    });
    const replayed = replay.stream();
    checkFrames(replay, "merchant", { since: startSeq });
    expect(replayed).toEqual(watched);
    const endSeq = replay.envelopes.at(-1).seq as number;
    expect(replayed.map((e) => e.seq)).toEqual(Array.from({ length: endSeq - startSeq }, (_, i) => startSeq + 1 + i));
    const eventKeys = replayed.map((e) => `${e.payload.order.id}@${e.payload.order.version}`);
    expect(new Set(eventKeys).size).toBe(eventKeys.length);
    const acked = new Set<string>();
    for (const s of [...sockets, prober]) {
      for (const e of s.envelopes) {
        if (e.event === "ACK") acked.add(`${e.payload.order.id}@${e.payload.order.version}`);
        if (e.event === "BULK_RESULT")
          for (const r of e.payload.results) if (r.ok) acked.add(`${r.order.id}@${r.order.version}`);
      }
    }
    expect([...acked].sort()).toEqual([...eventKeys].sort());
    console.log(
      `[fuzz] ${probes} runs over ${sockets.length} sockets; ${replayed.length} events, all acknowledged, log ${startSeq + 1}..${endSeq} gap-free`,
    );

    // Nothing reached merchant B: no frame, no event, its order untouched.
    await barrier(bScreen);
    expect(bScreen.envelopes.filter((e) => e !== "pong")).toHaveLength(1);
    expect((await merchantStub(b.merchantId).board())!.seq).toBe(bSeq);
    expect((await merchantStub(b.merchantId).getOrder(foreign.id))!.version).toBe(1);

    // No prototype was polluted, in the room's isolate or ours.
    expect(await pollutedKeysInRoom(a.merchantId, ["polluted"])).toEqual([]);
    expect(pollutedKeys(["polluted"])).toEqual([]);

    for (const s of [...sockets, prober, watcher, replay, bScreen]) s.close();
  }, 240_000);
});
