/**
 * Bad input on a socket (CONTRACT.md "Bad input on a socket"), on both rooms: every refusal is
 * an ERROR in the contract's shape and the socket stays usable; a frame over 64 KiB (in bytes)
 * closes it with 1009, one of exactly 64 KiB is read; a flood is refused with RATE_LIMITED and
 * closed with 1008 at twice the limit. No refusal changes state. (Hostile JSON in frames:
 * security-input.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { ErrorEnvelopeSchema, MAX_CLIENT_FRAME_BYTES } from "../../schema/index.ts";
import { tokens } from "./support/credentials.ts";
import { placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import {
  act,
  barrier,
  customerWatching,
  openMerchantSocket,
  openOrderSocket,
  reply,
  rid,
  streamCount,
  type TestSocket,
} from "./support/sockets.ts";

const encoder = new TextEncoder();

/** Sends one raw frame and waits for the next ERROR after it. */
async function errorFor(socket: TestSocket, frame: string | ArrayBuffer | Uint8Array): Promise<any> {
  const from = socket.envelopes.length;
  socket.ws.send(frame);
  let found: any;
  await socket.until(
    (envs) => (found = envs.slice(from).find((e) => e.event === "ERROR")) !== undefined,
    10_000,
    "ERROR",
  );
  expect(ErrorEnvelopeSchema.safeParse(found).success, JSON.stringify(found)).toBe(true);
  return found;
}

/** A merchant with one accepted order and one open staff screen: the "still usable" probe. */
async function kitchen() {
  const { merchantId, staff } = await setupMerchant();
  const order = await placeOrder(merchantId);
  const screen = await openMerchantSocket(merchantId, staff);
  expect((await act(screen, "MERCHANT_ACCEPT", { orderId: order.id })).event).toBe("ACK");
  let prep = 1;
  /** A valid action that must ACK. */
  const stillWorks = async (s: TestSocket = screen) => {
    const r = await act(s, "MERCHANT_UPDATE_PREP_TIME", { orderId: order.id, prepMinutes: ++prep });
    expect(r, JSON.stringify(r)).toMatchObject({ event: "ACK", payload: { order: { prepMinutes: prep } } });
  };
  return { merchantId, staff, order, screen, stillWorks };
}

describe("bad frames get an ERROR and the socket stays usable", () => {
  it("non-JSON and JSON that is not an object", async () => {
    const { screen, stillWorks } = await kitchen();
    for (const frame of [
      "hello{",
      "",
      " ",
      '{"action":',
      "undefined",
      "NaN",
      "{'a':1}",
      "\u0000",
      "42",
      "null",
      "true",
      '"MERCHANT_ACCEPT"',
      "[]",
      "[{}]",
      "{}",
    ]) {
      const err = await errorFor(screen, frame);
      expect(err.payload.code, JSON.stringify(frame)).toBe("BAD_REQUEST");
      expect(err.requestId).toBeUndefined();
      await stillWorks();
    }
    checkAndClose("merchant", screen);
  });

  it("unknown action, payload failing its schema, bad requestId: BAD_REQUEST (echoing a usable requestId) and nothing changes", async () => {
    const { order, screen, stillWorks } = await kitchen();
    const eventsBefore = (await streamCount(screen, 1)).length;
    let valid = 0;
    const cases: Array<{ frame: Record<string, unknown>; echo: boolean }> = [
      { frame: { action: "NUKE_EVERYTHING", requestId: rid(), payload: {} }, echo: true },
      { frame: { action: "merchant_accept", requestId: rid(), payload: { orderId: order.id } }, echo: true },
      { frame: { action: "MERCHANT_ACCEPT", requestId: rid() }, echo: true },
      { frame: { action: "MERCHANT_ACCEPT", requestId: rid(), payload: [] }, echo: true },
      { frame: { action: "MERCHANT_ACCEPT", requestId: rid(), payload: {} }, echo: true },
      { frame: { action: "MERCHANT_ACCEPT", requestId: rid(), payload: { orderId: "not an id" } }, echo: true },
      { frame: { action: "MERCHANT_ACCEPT", requestId: rid(), payload: { orderId: 42 } }, echo: true },
      {
        frame: {
          action: "MERCHANT_UPDATE_PREP_TIME",
          requestId: rid(),
          payload: { orderId: order.id, prepMinutes: 0 },
        },
        echo: true,
      },
      {
        frame: {
          action: "MERCHANT_UPDATE_PREP_TIME",
          requestId: rid(),
          payload: { orderId: order.id, prepMinutes: 181 },
        },
        echo: true,
      },
      {
        frame: {
          action: "MERCHANT_UPDATE_PREP_TIME",
          requestId: rid(),
          payload: { orderId: order.id, prepMinutes: 2.5 },
        },
        echo: true,
      },
      {
        frame: {
          action: "MERCHANT_UPDATE_PREP_TIME",
          requestId: rid(),
          payload: { orderId: order.id, prepMinutes: "30" },
        },
        echo: true,
      },
      { frame: { action: "MERCHANT_UPDATE_PREP_TIME", requestId: rid(), payload: { orderId: order.id } }, echo: true },
      {
        frame: { action: "MERCHANT_REJECT", requestId: rid(), payload: { orderId: order.id, reason: "   " } },
        echo: true,
      },
      {
        frame: { action: "MERCHANT_REJECT", requestId: rid(), payload: { orderId: order.id, reason: "x".repeat(501) } },
        echo: true,
      },
      { frame: { action: "MERCHANT_ACCEPT", payload: { orderId: order.id } }, echo: false },
      { frame: { action: "MERCHANT_ACCEPT", requestId: "", payload: { orderId: order.id } }, echo: false },
      { frame: { action: "MERCHANT_ACCEPT", requestId: "x".repeat(65), payload: { orderId: order.id } }, echo: false },
      { frame: { action: "MERCHANT_ACCEPT", requestId: 7, payload: { orderId: order.id } }, echo: false },
      { frame: { action: "MERCHANT_ACCEPT", requestId: { a: 1 }, payload: { orderId: order.id } }, echo: false },
    ];
    for (const { frame, echo } of cases) {
      const err = await errorFor(screen, JSON.stringify(frame));
      expect(err.payload.code, JSON.stringify(frame).slice(0, 200)).toBe("BAD_REQUEST");
      expect(err.payload.message).toBeTypeOf("string");
      if (echo) expect(err.requestId).toBe(frame.requestId);
      else expect(err.requestId).toBeUndefined();
      await stillWorks();
      valid++;
    }
    // The longest allowed requestId works.
    const longest = "y".repeat(64);
    expect(
      (await act(screen, "MERCHANT_UPDATE_PREP_TIME", { orderId: order.id, prepMinutes: 99 }, longest)).requestId,
    ).toBe(longest);
    valid++;
    await barrier(screen);
    // Only the valid actions made events; the order is still ACCEPTED.
    expect(screen.stream()).toHaveLength(eventsBefore + valid);
    expect(screen.stream().every((e) => e.event === "MERCHANT_ACCEPTED" || e.event === "PREP_TIME_UPDATED")).toBe(true);
    checkAndClose("merchant", screen);
  });

  it("a binary frame", async () => {
    const { screen, stillWorks } = await kitchen();
    const bytes = encoder.encode(JSON.stringify({ action: "MERCHANT_ACCEPT", requestId: "bin", payload: {} }));
    for (const frame of [bytes, bytes.buffer as ArrayBuffer, new Uint8Array(0)]) {
      const err = await errorFor(screen, frame);
      expect(err.payload.code).toBe("BAD_REQUEST");
      await stillWorks();
    }
    checkAndClose("merchant", screen);
  });

  it("refusals of the room (INVALID_TRANSITION, NOT_FOUND) leave the socket usable", async () => {
    const { merchantId, order, screen, stillWorks } = await kitchen();
    const again = await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    expect(again).toMatchObject({ event: "ERROR", payload: { code: "INVALID_TRANSITION" } });
    await stillWorks();
    const unknown = await act(screen, "MERCHANT_MARK_READY", { orderId: `${merchantId}.nosuchorder` });
    expect(unknown).toMatchObject({ event: "ERROR", payload: { code: "NOT_FOUND" } });
    await stillWorks();
    // (Another merchant's order, and dispatch, which may watch but not act: security-auth.test.ts.)
    checkAndClose("merchant", screen);
  });
});

describe("size and rate limits", () => {
  it("a frame over 64 KiB (in bytes) is closed with 1009; one of exactly 64 KiB is read; other sockets carry on", async () => {
    const { merchantId, staff, order, screen, stillWorks } = await kitchen();
    // Exactly at the limit: a valid action padded with an ignored field, so it must ACK.
    const base = {
      action: "MERCHANT_UPDATE_PREP_TIME",
      requestId: rid("edge"),
      payload: { orderId: order.id, prepMinutes: 50 },
      pad: "",
    };
    const padLength = MAX_CLIENT_FRAME_BYTES - encoder.encode(JSON.stringify(base)).byteLength;
    const edge = JSON.stringify({ ...base, pad: "p".repeat(padLength) });
    expect(encoder.encode(edge).byteLength).toBe(MAX_CLIENT_FRAME_BYTES);
    screen.send(edge);
    expect(await reply(screen, base.requestId)).toMatchObject({
      event: "ACK",
      payload: { order: { prepMinutes: 50 } },
    });

    const victim = await openMerchantSocket(merchantId, staff);
    victim.send(JSON.stringify({ ...base, requestId: rid("over"), pad: "p".repeat(padLength + 1) }));
    expect(await victim.waitClosed()).toMatchObject({ code: 1009 });

    // Bytes, not characters: 40 000 two-byte characters are 80 000 bytes.
    const wide = await openMerchantSocket(merchantId, staff);
    wide.send(JSON.stringify({ ...base, requestId: rid("wide"), pad: "é".repeat(40_000) }));
    expect(await wide.waitClosed()).toMatchObject({ code: 1009 });

    // Binary frames too.
    const binary = await openMerchantSocket(merchantId, staff);
    binary.ws.send(new Uint8Array(MAX_CLIENT_FRAME_BYTES + 1));
    expect(await binary.waitClosed()).toMatchObject({ code: 1009 });

    await stillWorks();
    const count = (s: TestSocket) => s.stream().filter((e) => e.event === "PREP_TIME_UPDATED").length;
    expect(count(screen)).toBe(2);
    checkFrames(screen, "merchant");
    checkFrames(victim, "merchant");
    screen.close();
  });

  it("flooding: ERROR RATE_LIMITED for the frames over 200, close 1008 at the 401st; other sockets are unaffected", async () => {
    const { merchantId, staff, screen, stillWorks } = await kitchen();
    const flooder = await openMerchantSocket(merchantId, staff);
    const frames = 401;
    for (let i = 0; i < frames; i++) flooder.send("{}");
    const closed = await flooder.waitClosed(20_000);
    expect(closed.code).toBe(1008);
    const errors = flooder.envelopes.filter((e) => e.event === "ERROR").map((e) => e.payload.code);
    expect(errors.filter((c) => c === "BAD_REQUEST")).toHaveLength(200);
    expect(errors.filter((c) => c === "RATE_LIMITED")).toHaveLength(200);
    // In that order: the first 200 were read, the next 200 refused.
    expect(errors.indexOf("RATE_LIMITED")).toBe(200);
    checkFrames(flooder, "merchant");

    // The limit is per socket: the other screen (same staff token) still works.
    await stillWorks();
    expect(screen.closed).toBeNull();
    checkAndClose("merchant", screen);
  });

  it("a socket over the limit but under twice the limit stays open and is told RATE_LIMITED", async () => {
    const { order, screen } = await kitchen();
    for (let i = 0; i < 230; i++)
      screen.send(
        JSON.stringify({
          action: "MERCHANT_UPDATE_PREP_TIME",
          requestId: `f-${i}`,
          payload: { orderId: order.id, prepMinutes: 1 + (i % 100) },
        }),
      );
    await screen.until(
      (envs) => envs.filter((e) => e.event === "ERROR" && e.payload.code === "RATE_LIMITED").length === 31,
      20_000,
      "31 RATE_LIMITED",
    );
    await barrier(screen);
    expect(screen.closed).toBeNull();
    // 199 of the actions (the accept was frame 1 of the window) were taken, the rest refused.
    const acks = screen.envelopes.filter((e) => e.event === "ACK");
    expect(acks).toHaveLength(1 + 199);
    const limited = screen.envelopes.filter((e) => e.event === "ERROR");
    expect(limited).toHaveLength(31);
    expect(limited.every((e) => e.payload.code === "RATE_LIMITED")).toBe(true);
    // Each refusal is a reply to one frame: it names that frame's requestId, so the client can
    // tell which of its actions were not taken (frames 1..199 of the flood were, 199..229 not).
    expect(limited.map((e) => e.requestId)).toEqual(Array.from({ length: 31 }, (_, i) => `f-${199 + i}`));
    expect(screen.stream().filter((e) => e.event === "PREP_TIME_UPDATED")).toHaveLength(199);
    checkAndClose("merchant", screen);
  });
});

describe("order room", () => {
  it("takes no actions: every frame is an ERROR BAD_REQUEST and the socket keeps streaming; oversized frames close 1009", async () => {
    const { merchantId, staff, customerToken, order, phone } = await customerWatching("cust-hard");
    const driverlessOps = await openOrderSocket(order.id, await tokens.dispatch());
    const requestId = rid("order-room");
    const frames = [
      JSON.stringify({ action: "MERCHANT_ACCEPT", requestId, payload: { orderId: order.id } }),
      JSON.stringify({ action: "CANCEL", requestId: rid(), payload: { reason: "changed my mind" } }),
      "not json",
      "{}",
    ];
    for (const frame of frames) {
      const err = await errorFor(phone, frame);
      expect(err.payload.code).toBe("BAD_REQUEST");
    }
    expect(phone.envelopes.find((e) => e.event === "ERROR").requestId).toBe(requestId);
    const err = await errorFor(phone, encoder.encode("binary"));
    expect(err.payload.code).toBe("BAD_REQUEST");
    // Nothing changed, and the socket still streams.
    expect((await api("GET", `/api/orders/${order.id}`, { token: customerToken })).body.status).toBe("PLACED");
    await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff, body: {} });
    const [accepted] = await streamCount(phone, 1);
    expect(accepted).toMatchObject({ event: "MERCHANT_ACCEPTED", seq: 2 });
    checkFrames(phone, "order");

    // A frame of exactly 64 KiB is read (and refused: the order room takes no actions); one byte
    // more, or fewer characters that are more than 64 KiB of UTF-8, closes 1009.
    const exact = JSON.stringify({
      action: "MERCHANT_ACCEPT",
      requestId: "big",
      payload: { orderId: order.id },
      pad: "",
    });
    const padded = exact.replace(`"pad":""`, `"pad":"${"x".repeat(MAX_CLIENT_FRAME_BYTES - exact.length)}"`);
    expect(encoder.encode(padded).byteLength).toBe(MAX_CLIENT_FRAME_BYTES);
    expect(await errorFor(phone, padded)).toMatchObject({ requestId: "big", payload: { code: "BAD_REQUEST" } });
    driverlessOps.send("x".repeat(MAX_CLIENT_FRAME_BYTES + 1));
    expect(await driverlessOps.waitClosed()).toMatchObject({ code: 1009 });
    const wide = await openOrderSocket(order.id, customerToken);
    wide.send(`{"pad":"${"é".repeat(33_000)}"}`);
    expect(await wide.waitClosed()).toMatchObject({ code: 1009 });
    expect(phone.closed).toBeNull();
    phone.close();
  });

  it("floods are limited on the order room too", async () => {
    const { phone } = await customerWatching("cust-flood");
    for (let i = 0; i < 401; i++) phone.send("{}");
    expect((await phone.waitClosed(20_000)).code).toBe(1008);
    expect(phone.envelopes.filter((e) => e.event === "ERROR" && e.payload.code === "RATE_LIMITED")).toHaveLength(200);
    checkFrames(phone, "order");
  });
});
