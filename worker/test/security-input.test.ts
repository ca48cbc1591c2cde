/**
 * The internet sends garbage: oversized bodies, hostile JSON (deep, huge, prototype poisoning)
 * in bodies and in socket frames, unicode and control characters, floods of requests, odd paths.
 * Every answer is the exact status and error shape, as JSON, never HTML or a stack trace;
 * nothing is polluted, nothing changes that should not, and the room keeps working afterwards.
 * (Frames that are malformed, too large or too many: socket-hardening.test.ts.)
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode, Order } from "../../schema/index.ts";
import { MAX_BODY_BYTES } from "../http.ts";
import { historyRow } from "./support/history.ts";
import { expectError, expectJsonNotHtml } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, ITEMS, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, asApiResponse, BASE } from "./support/http.ts";
import { advanceRoomClock, pollutedKeys, pollutedKeysInRoom, setRoomClock } from "./support/room-seams.ts";
import { open } from "./support/sockets.ts";

let merchantId: string;
let staff: string;
let customer: string;
let dispatch: string;
/** An order kept PLACED: hostile requests aimed at it must never change it. */
let target: Order;

beforeAll(async () => {
  ({ merchantId, staff } = await setupMerchant());
  customer = await tokens.customer("cust-input");
  dispatch = await tokens.dispatch();
  target = await placeOrder(merchantId, customer);
});

async function expectTargetUnchanged(): Promise<void> {
  expect(await merchantStub(merchantId).getOrder(target.id)).toEqual(target);
}

const POLLUTION_KEYS = ["polluted", "isAdmin", "injected"];

/** Object.prototype must be exactly as the runtime made it, here and inside the room. */
async function expectNothingPolluted(): Promise<void> {
  expect(pollutedKeys(POLLUTION_KEYS)).toEqual([]);
  expect(await pollutedKeysInRoom(merchantId, POLLUTION_KEYS)).toEqual([]);
}

/**
 * Mutating routes, each with a body it would accept (for a target it may refuse) and the field
 * its schema reads (so a hostile value there cannot be silently dropped as an unknown key).
 */
function mutatingRoutes(orderId: string): {
  name: string;
  method: "POST" | "PUT";
  path: string;
  token: () => string;
  body: Record<string, unknown> | null;
  field?: string;
}[] {
  return [
    {
      name: "PUT merchant",
      method: "PUT",
      path: `/api/merchants/${merchantId}`,
      token: () => dispatch,
      body: { name: "Test Kitchen" },
      field: "name",
    },
    {
      name: "place",
      method: "POST",
      path: "/api/orders",
      token: () => customer,
      body: { merchantId, items: ITEMS },
      field: "items",
    },
    {
      name: "cancel",
      method: "POST",
      path: `/api/orders/${orderId}/cancel`,
      token: () => customer,
      body: { reason: "r" },
      field: "reason",
    },
    {
      name: "driver",
      method: "POST",
      path: `/api/orders/${orderId}/driver`,
      token: () => dispatch,
      body: { driverId: "d1", name: "Di" },
      field: "name",
    },
    { name: "arrived", method: "POST", path: `/api/orders/${orderId}/arrived`, token: () => dispatch, body: null },
    { name: "pickup", method: "POST", path: `/api/orders/${orderId}/pickup`, token: () => dispatch, body: null },
    { name: "deliver", method: "POST", path: `/api/orders/${orderId}/deliver`, token: () => dispatch, body: null },
    {
      name: "accept",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/${orderId}/accept`,
      token: () => staff,
      body: {},
      field: "prepMinutes",
    },
    {
      name: "reject",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/${orderId}/reject`,
      token: () => staff,
      body: { reason: "r" },
      field: "reason",
    },
    {
      name: "preparing",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/${orderId}/preparing`,
      token: () => staff,
      body: null,
    },
    {
      name: "ready",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/${orderId}/ready`,
      token: () => staff,
      body: null,
    },
    {
      name: "prep-time",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/${orderId}/prep-time`,
      token: () => staff,
      body: { prepMinutes: 5 },
      field: "prepMinutes",
    },
    {
      name: "bulk",
      method: "POST",
      path: `/api/merchants/${merchantId}/orders/bulk`,
      token: () => staff,
      body: { action: "accept", orderIds: [orderId] },
      field: "orderIds",
    },
  ];
}

/** A JSON text of exactly `bytes` bytes: `body` plus a padding field. */
function jsonOfSize(body: Record<string, unknown> | null, bytes: number): string {
  const base = JSON.stringify({ ...(body ?? {}), pad: "" });
  return base.replace(/"pad":""/, `"pad":"${"x".repeat(bytes - base.length)}"`);
}

describe("oversized input", () => {
  it(`every mutating route answers a body over ${MAX_BODY_BYTES} bytes with 413 TOO_LARGE and changes nothing`, async () => {
    for (const route of mutatingRoutes(target.id)) {
      const text = jsonOfSize(route.body, MAX_BODY_BYTES + 1);
      expect(new TextEncoder().encode(text).byteLength).toBe(MAX_BODY_BYTES + 1);
      const res = await api(route.method, route.path, { token: route.token(), body: text });
      expectError(res, 413, "TOO_LARGE", route.name);
    }
    await expectTargetUnchanged();
  });

  // Routes without a body never read one, so only routes that do can meet a streamed overflow.
  it("a streamed body (no Content-Length) is cut off at the limit too", async () => {
    for (const route of mutatingRoutes(target.id).filter((r) => ["reject", "place", "bulk"].includes(r.name))) {
      const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await exports.default.fetch(`${BASE}${route.path}`, {
        method: route.method,
        headers: { Authorization: `Bearer ${route.token()}`, "Content-Type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      expectError(await asApiResponse(res), 413, "TOO_LARGE", `${route.name} streamed`);
    }
    await expectTargetUnchanged();
  });

  it(`a body of exactly ${MAX_BODY_BYTES} bytes is read`, async () => {
    const text = jsonOfSize({ name: "Test Kitchen" }, MAX_BODY_BYTES);
    const res = await api("PUT", `/api/merchants/${merchantId}`, { token: dispatch, body: text });
    expect(res.status).toBe(200);
  });
});

// ------------------------------------------------------------------ hostile JSON

/** Each hostile body, given a valid body to hide in and the field its schema reads. */
const HOSTILE: { name: string; text: (valid: Record<string, unknown>, field: string) => string }[] = [
  {
    name: "__proto__ at the top",
    text: (v) => `{"__proto__":{"polluted":"yes","isAdmin":true},${JSON.stringify(v).slice(1)}`,
  },
  {
    name: "constructor.prototype at the top",
    text: (v) => JSON.stringify({ ...v, constructor: { prototype: { polluted: "yes" } } }),
  },
  { name: "prototype at the top", text: (v) => JSON.stringify({ ...v, prototype: { injected: 1 } }) },
  {
    name: "__proto__ in the read field",
    text: (v, f) =>
      JSON.stringify({ ...v, [f]: "__PLACEHOLDER__" }).replace(`"__PLACEHOLDER__"`, `{"__proto__":{"isAdmin":true}}`),
  },
  {
    name: "__proto__ deep inside",
    text: (v) =>
      JSON.stringify({ ...v, extra: [{ a: [{}] }] }).replace(`"a":[{}]`, `"a":[{"__proto__":{"polluted":1}}]`),
  },
  {
    name: "constructor nested",
    text: (v) => JSON.stringify({ ...v, meta: { constructor: { prototype: { injected: true } } } }),
  },
  {
    name: "20,000-deep arrays",
    text: (v, f) =>
      JSON.stringify({ ...v, [f]: "__PLACEHOLDER__" }).replace(
        `"__PLACEHOLDER__"`,
        `${"[".repeat(20_000)}${"]".repeat(20_000)}`,
      ),
  },
  {
    name: "10,000-deep objects",
    text: (v, f) =>
      JSON.stringify({ ...v, [f]: "__PLACEHOLDER__" }).replace(
        `"__PLACEHOLDER__"`,
        `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`,
      ),
  },
  {
    name: "15,000-element array",
    text: (v, f) => JSON.stringify({ ...v, [f]: Array.from({ length: 15_000 }, () => ({})) }),
  },
  { name: "JSON null", text: () => "null" },
  { name: "JSON array", text: () => "[]" },
  { name: "JSON string", text: () => `"hello"` },
  { name: "JSON number", text: () => "1e999" },
  { name: "malformed JSON", text: (v) => JSON.stringify(v).slice(0, -1) },
  { name: "not JSON at all", text: () => "<html><body>hi</body></html>" },
];

/** Routes that read a JSON body. */
function bodyRoutes() {
  return mutatingRoutes(target.id).filter((r) => r.body !== null && r.field !== undefined);
}

function readableRequestId(frame: string): unknown {
  try {
    return (JSON.parse(frame) as { requestId?: unknown } | null)?.requestId;
  } catch {
    return undefined;
  }
}

describe("hostile JSON", () => {
  for (const hostile of HOSTILE) {
    it(`REST: ${hostile.name} → 400 on every body route, nothing polluted, nothing changed`, async () => {
      for (const route of bodyRoutes()) {
        const res = await api(route.method, route.path, {
          token: route.token(),
          body: hostile.text(route.body!, route.field!),
        });
        expectError(res, 400, "BAD_REQUEST", `${route.name}: ${hostile.name}`);
        // No amplification: a 64 KiB request never earns a huge answer.
        expect(JSON.stringify(res.body).length, `${route.name}: ${hostile.name}`).toBeLessThan(8 * 1024);
      }
      await expectNothingPolluted();
      await expectTargetUnchanged();
    });
  }

  it("socket frames: every hostile frame gets ERROR BAD_REQUEST (with its requestId when readable), the socket stays open, the room keeps working", async () => {
    const screen = await open(`/ws/merchant/${merchantId}/orders`, { token: staff });
    const watcher = await open(`/ws/order/${target.id}`, { token: customer });
    const valid = { action: "MERCHANT_REJECT", requestId: "hostile", payload: { orderId: target.id, reason: "no" } };
    const frames = [
      ...HOSTILE.map((h) => h.text(valid, "payload")),
      `{"action":"MERCHANT_REJECT","requestId":"hostile","payload":{"__proto__":{"polluted":1},"orderId":"${target.id}","reason":"no"}}`,
      JSON.stringify({ ...valid, payload: { ...valid.payload, constructor: { prototype: { injected: 1 } } } }),
      JSON.stringify({
        action: "BULK_ACCEPT",
        requestId: "hostile",
        payload: { orderIds: Array(1500).fill(target.id) },
      }),
      JSON.stringify({ action: "__proto__", requestId: "hostile", payload: {} }),
      JSON.stringify({ action: "MERCHANT_ACCEPT", requestId: "x".repeat(65), payload: { orderId: target.id } }),
      JSON.stringify({ action: "MERCHANT_ACCEPT", requestId: { toString: 1 }, payload: { orderId: target.id } }),
      JSON.stringify({ action: "MERCHANT_ACCEPT", requestId: "hostile", payload: null }),
    ];
    for (const frame of frames) {
      const before = screen.envelopes.length;
      screen.send(frame);
      watcher.send(frame);
      await screen.until((e) => e.length > before, 5000, `reply to ${frame.slice(0, 80)}`);
      const reply = screen.envelopes[before];
      expect(reply.event, frame.slice(0, 120)).toBe("ERROR");
      expect(reply.payload.code, frame.slice(0, 120)).toBe("BAD_REQUEST");
      expect(reply.seq).toBeUndefined();
      expect(JSON.stringify(reply).length).toBeLessThan(8 * 1024);
      if (readableRequestId(frame) === "hostile") expect(reply.requestId, frame.slice(0, 120)).toBe("hostile");
    }
    await watcher.until(
      (e) => e.filter((x) => x.event === "ERROR").length === frames.length,
      5000,
      "order-room errors",
    );
    expect(screen.closed).toBeNull();
    expect(watcher.closed).toBeNull();
    expect(screen.stream()).toEqual([]);
    await expectNothingPolluted();
    await expectTargetUnchanged();

    // Both rooms still work for everyone.
    const fresh = await placeOrder(merchantId, customer);
    screen.send({ action: "MERCHANT_ACCEPT", requestId: "after", payload: { orderId: fresh.id } });
    const ack = await screen.next((e) => e.event === "ACK" && e.requestId === "after");
    expect(ack.payload.order.status).toBe("ACCEPTED");
    await flushOutbox(merchantId);
    expect((await orderStub(fresh.id).getOrder())?.status).toBe("ACCEPTED");
    screen.close();
    watcher.close();
  });
});

// ------------------------------------------------------------------ unicode and control characters

/** Everything people paste: controls, escapes, markup, bidi overrides, emoji, CJK, combining marks. */
const WEIRD =
  "ctl:\u0001\u0007\u0008\u001b[31m\u007f nul:\u0000 tab:\t nl:\n ls:\u2028 ps:\u2029 bom:\ufeff rlo:\u202e olleh\u202c " +
  `html:<script>alert("x")</script><img src=x onerror=alert(1)> &amp; quote:" back:\\ ` +
  "emoji:🍕👩🏽‍🍳 cjk:漢字 combining:é zwj:\u200d end";
/** The same mix within a name's 100 characters. */
const WEIRD_NAME = 'n\u0000\u0007\u001b[1m\u202e<b>&amp;</b>"\\\u2028🍕👩🏽‍🍳漢字é\ufeff end';

describe("unicode and control characters", () => {
  it("are stored and echoed exactly, as JSON, everywhere an order is seen", async () => {
    const screen = await open(`/ws/merchant/${merchantId}/orders`, { token: staff });
    const placed = await api<Order>("POST", "/api/orders", {
      token: customer,
      body: { merchantId, items: [{ name: WEIRD_NAME, quantity: 1, unitPriceCents: 100, notes: WEIRD }], notes: WEIRD },
    });
    expect(placed.status).toBe(201);
    const order = placed.body;
    expect(order.notes).toBe(WEIRD);
    expect(order.items[0]!.name).toBe(WEIRD_NAME);
    expect(order.items[0]!.notes).toBe(WEIRD);

    // "as JSON": every control character is escaped in the raw text of the answer.
    const raw = await exports.default.fetch(`${BASE}/api/orders/${order.id}`, {
      headers: { Authorization: `Bearer ${customer}` },
    });
    const text = await raw.text();
    expectJsonNotHtml(raw.status, raw.headers.get("Content-Type"), text);
    expect(text).not.toMatch(/[\u0000-\u001f]/);
    expect((JSON.parse(text) as Order).notes).toBe(WEIRD);

    const rejected = await api<Order>("POST", `/api/merchants/${merchantId}/orders/${order.id}/reject`, {
      token: staff,
      body: { reason: WEIRD },
    });
    expect(rejected.body.rejectReason).toBe(WEIRD);
    const other = await placeOrder(merchantId, customer);
    const driver = await api<Order>("POST", `/api/orders/${other.id}/driver`, {
      token: dispatch,
      body: { driverId: "d-uni", name: WEIRD_NAME },
    });
    expect(driver.body.driver?.name).toBe(WEIRD_NAME);
    const cancelled = await api<Order>("POST", `/api/orders/${other.id}/cancel`, {
      token: customer,
      body: { reason: WEIRD },
    });
    expect(cancelled.body.cancelReason).toBe(WEIRD);

    // The room, both streams, the audit trail and D1 all hold the same strings.
    expect(await merchantStub(merchantId).getOrder(order.id)).toEqual(rejected.body);
    await screen.until((e) => e.filter((x) => x.payload?.order?.id === other.id).length >= 3, 5000, "stream");
    const streamed = screen.stream().filter((e) => e.payload.order.id === order.id);
    expect(streamed.map((e) => e.payload.order)).toEqual([order, rejected.body]);
    expect(screen.stream().at(-1).payload.order).toEqual(cancelled.body);
    const trail = await api("GET", `/api/orders/${order.id}/events`, { token: staff });
    expect(trail.body.events.map((e: { order: Order }) => e.order)).toEqual([order, rejected.body]);
    await flushOutbox(merchantId);
    const watcher = await open(`/ws/order/${order.id}`, { token: customer });
    expect(watcher.envelopes[0].payload.order).toEqual(rejected.body);
    // History (the room's, over REST) has them exactly; D1's lean row is at the same version.
    const history = await api<{ orders: Order[] }>("GET", `/api/merchants/${merchantId}/orders?status=all&limit=200`, {
      token: staff,
    });
    expect(history.body.orders.find((o) => o.id === order.id)).toEqual(rejected.body);
    expect(history.body.orders.find((o) => o.id === other.id)).toEqual(cancelled.body);
    expect(await historyRow(order.id)).toMatchObject({ version: rejected.body.version, status: "REJECTED" });
    screen.close();
    watcher.close();
  });

  it("text that is not valid Unicode (lone surrogates) is refused: it could not be stored as the client sent it", async () => {
    for (const bad of ["a\ud800b", "\udc00", "x\ud83c"]) {
      const res = await api("POST", "/api/orders", { token: customer, body: { merchantId, items: ITEMS, notes: bad } });
      expectError(res, 400, "BAD_REQUEST", JSON.stringify(bad));
      const reject = await api("POST", `/api/merchants/${merchantId}/orders/${target.id}/reject`, {
        token: staff,
        body: { reason: bad },
      });
      expectError(reject, 400, "BAD_REQUEST", JSON.stringify(bad));
    }
    await expectTargetUnchanged();
  });
});

// ------------------------------------------------------------------ rate limits

describe("rate limits", () => {
  it("REST: the 101st mutating request of a caller within 10 s is 429 RATE_LIMITED; others are unaffected; the window passes", async () => {
    const { merchantId: m, staff: s } = await setupMerchant();
    const missing = `${m}.nosuchorder`;
    const accept = (tok: string) =>
      api("POST", `/api/merchants/${m}/orders/${missing}/accept`, { token: tok, body: {} });
    // A frozen clock: the whole burst falls into one window however slow the machine.
    await setRoomClock(m, Date.now() + 60_000);
    for (let i = 1; i <= 100; i++) {
      const res = await accept(s);
      expect(res.status, `request ${i}`).toBe(404);
    }
    expectError(await accept(s), 429, "RATE_LIMITED", "101st");
    expectError(await accept(s), 429, "RATE_LIMITED", "102nd");
    // Reads are not mutations; another member of staff has their own budget.
    expect((await api("GET", `/api/merchants/${m}/orders`, { token: s })).status).toBe(200);
    expect((await accept(await tokens.merchant(m, "staff-2"))).status).toBe(404);
    await advanceRoomClock(m, 10_000);
    expect((await accept(s)).status).toBe(404);
  });
});

// ------------------------------------------------------------------ never HTML, never a stack trace

describe("never HTML, never a stack trace", () => {
  it("odd requests all get the JSON error shape", async () => {
    const cases: [
      string,
      string,
      { token?: string; body?: unknown; headers?: Record<string, string> },
      number,
      ErrorCode,
    ][] = [
      ["GET", "/api/nope", {}, 404, "NOT_FOUND"],
      ["GET", "/api/nope", { token: dispatch }, 404, "NOT_FOUND"],
      ["DELETE", "/api/health", {}, 404, "NOT_FOUND"],
      ["PATCH", "/api/orders", { token: dispatch }, 404, "NOT_FOUND"],
      ["GET", "/ws/nope", {}, 404, "NOT_FOUND"],
      ["GET", "/nope.php", {}, 404, "NOT_FOUND"],
      ["DELETE", `/api/orders/${target.id}`, { token: dispatch }, 404, "NOT_FOUND"],
      ["PATCH", `/api/merchants/${merchantId}`, { token: dispatch, body: {} }, 404, "NOT_FOUND"],
      ["GET", `/api/orders/${"%E0%A4%A"}`, { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", `/api/orders/${"a".repeat(10_000)}.x`, { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", `/api/orders/..%2F..%2Fetc%2Fpasswd`, { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", `/api/orders/..%2F..%2Fetc`, { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", `/api/orders/${"a".repeat(300)}.b`, { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", "/api/merchants/%00/orders", { token: dispatch }, 400, "BAD_REQUEST"],
      ["GET", `/api/merchants/${merchantId}/orders?limit=abc`, { token: staff }, 400, "BAD_REQUEST"],
      ["GET", `/api/merchants/${merchantId}/orders?limit=100000`, { token: staff }, 400, "BAD_REQUEST"],
      ["GET", `/api/merchants/${merchantId}/orders?status=all&cursor=%%%`, { token: staff }, 400, "BAD_REQUEST"],
      [
        "GET",
        `/api/merchants/${merchantId}/orders?status=all&cursor=${btoa("[1,2]")}`,
        { token: staff },
        400,
        "BAD_REQUEST",
      ],
      ["GET", `/api/merchants/${merchantId}/orders?status=sideways`, { token: staff }, 400, "BAD_REQUEST"],
      [
        "POST",
        `/api/orders/${target.id}/cancel`,
        { token: customer, body: { reason: "x" }, headers: { "Idempotency-Key": "k".repeat(256) } },
        400,
        "BAD_REQUEST",
      ],
      [
        "POST",
        `/api/orders`,
        { token: customer, body: "{", headers: { "Content-Type": "application/json" } },
        400,
        "BAD_REQUEST",
      ],
      ["POST", `/api/orders`, { token: customer, body: "{not json" }, 400, "BAD_REQUEST"],
      [
        "POST",
        `/api/orders`,
        { token: customer, body: "", headers: { "Content-Type": "application/json" } },
        400,
        "BAD_REQUEST",
      ],
      [
        "POST",
        `/api/orders`,
        {
          token: customer,
          body: JSON.stringify({ merchantId, items: ITEMS }),
          headers: { "Content-Type": "text/html" },
        },
        400,
        "BAD_REQUEST",
      ],
      ["POST", `/api/orders`, { token: customer, body: { merchantId: "<script>", items: ITEMS } }, 400, "BAD_REQUEST"],
      ["POST", `/api/orders`, { token: customer, body: { merchantId: "nobody-here", items: ITEMS } }, 404, "NOT_FOUND"],
      [
        "PUT",
        `/api/merchants/${encodeURIComponent("<b>x</b>")}`,
        { token: dispatch, body: { name: "x" } },
        400,
        "BAD_REQUEST",
      ],
      ["POST", `/api/dev/token`, { body: { role: "root", sub: "x" } }, 400, "BAD_REQUEST"],
    ];
    for (const [method, path, opts, status, code] of cases) {
      expectError(await api(method, path, opts), status, code, `${method} ${path.slice(0, 80)}`);
    }
    await expectTargetUnchanged();
  });
});
