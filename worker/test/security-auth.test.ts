/**
 * Nobody where they don't belong: every REST route and both socket paths against every kind of
 * bad credential (401) and every principal that holds a valid token but is not entitled (403),
 * plus bad Origins on the socket upgrades. Each refusal must be the exact status with the exact
 * error shape, and none may change anything.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode, Order } from "../../schema/index.ts";
import { expectError } from "./support/assertions.ts";
import { badCredentials, type Claims, tokenFor } from "./support/credentials.ts";
import { ITEMS, merchantStub } from "./support/fixtures.ts";
import { api, asApiResponse, BASE, uniqueId } from "./support/http.ts";
import { connect, open } from "./support/sockets.ts";

const m1 = uniqueId("sec-m1");
const m2 = uniqueId("sec-m2");

const who = {
  customerA: { role: "customer", sub: "cust-a" },
  customerB: { role: "customer", sub: "cust-b" },
  staff1: { role: "merchant", sub: "staff-1", merchantId: m1 },
  staff2: { role: "merchant", sub: "staff-2", merchantId: m2 },
  driverA: { role: "driver", sub: "drv-a" },
  driverB: { role: "driver", sub: "drv-b" },
  dispatch: { role: "dispatch", sub: "ops-1" },
} satisfies Record<string, Claims>;
type Who = keyof typeof who;

/** The fixture: customer A's order at m1, accepted, driver A assigned. */
let order: Order;
const stream = { seq: 0 };

async function as(name: Who): Promise<string> {
  return tokenFor(who[name]);
}

beforeAll(async () => {
  for (const [id, name] of [
    [m1, "Store One"],
    [m2, "Store Two"],
  ]) {
    const res = await api("PUT", `/api/merchants/${id}`, { token: await as("dispatch"), body: { name } });
    expect(res.status).toBe(201);
  }
  const placed = await api<Order>("POST", "/api/orders", {
    token: await as("customerA"),
    body: { merchantId: m1, items: ITEMS },
  });
  expect(placed.status).toBe(201);
  const accepted = await api("POST", `/api/merchants/${m1}/orders/${placed.body.id}/accept`, {
    token: await as("staff1"),
    body: {},
  });
  expect(accepted.status).toBe(200);
  const assigned = await api<Order>("POST", `/api/orders/${placed.body.id}/driver`, {
    token: await as("dispatch"),
    body: { driverId: "drv-a", name: "Ada" },
  });
  expect(assigned.status).toBe(200);
  order = assigned.body;
  stream.seq = (await merchantStub(m1).board())!.seq;
});

interface RouteCase {
  name: string;
  method: "GET" | "POST" | "PUT";
  path: () => string;
  body?: () => unknown;
  /** A principal the route admits: bad credentials are built from its claims. */
  owner: Who;
  /** Valid tokens that must be refused, and with what (403 unless the route cannot see it). */
  denied: [Who, string, ErrorCode?][];
}

const merchantActionDenials: RouteCase["denied"] = [
  ["staff2", "other merchant"],
  ["customerA", "wrong role (the order's customer)"],
  ["driverA", "wrong role (the assigned driver)"],
  ["dispatch", "wrong role (dispatch)"],
];
const merchantAction = (action: string, body?: () => unknown): RouteCase => ({
  name: `POST /api/merchants/:m/orders/:id/${action}`,
  method: "POST",
  path: () => `/api/merchants/${m1}/orders/${order.id}/${action}`,
  ...(body ? { body } : {}),
  owner: "staff1",
  denied: merchantActionDenials,
});
const driverAction = (action: string): RouteCase => ({
  name: `POST /api/orders/:id/${action}`,
  method: "POST",
  path: () => `/api/orders/${order.id}/${action}`,
  owner: "driverA",
  denied: [
    ["driverB", "unassigned driver"],
    ["customerA", "wrong role (the order's customer)"],
    ["staff1", "wrong role (the order's merchant)"],
    ["dispatch", "wrong role (dispatch)"],
  ],
});

const ROUTES: RouteCase[] = [
  {
    name: "PUT /api/merchants/:m",
    method: "PUT",
    path: () => `/api/merchants/${m1}`,
    body: () => ({ name: "Renamed" }),
    owner: "dispatch",
    denied: [
      ["staff1", "wrong role (the merchant's own staff)"],
      ["customerA", "wrong role (customer)"],
      ["driverA", "wrong role (driver)"],
    ],
  },
  {
    name: "GET /api/merchants/:m/orders",
    method: "GET",
    path: () => `/api/merchants/${m1}/orders?status=all`,
    owner: "staff1",
    denied: [
      ["staff2", "other merchant"],
      ["customerA", "wrong role (customer)"],
      ["driverA", "wrong role (driver)"],
    ],
  },
  {
    name: "POST /api/orders",
    method: "POST",
    path: () => `/api/orders`,
    body: () => ({ merchantId: m1, items: ITEMS }),
    owner: "customerA",
    denied: [
      ["staff1", "wrong role (merchant)"],
      ["driverA", "wrong role (driver)"],
      ["dispatch", "wrong role (dispatch)"],
    ],
  },
  {
    name: "GET /api/orders/:id",
    method: "GET",
    path: () => `/api/orders/${order.id}`,
    owner: "customerA",
    denied: [
      ["customerB", "other customer"],
      ["staff2", "other merchant"],
      ["driverB", "unassigned driver"],
    ],
  },
  {
    name: "GET /api/orders/:id/events",
    method: "GET",
    path: () => `/api/orders/${order.id}/events`,
    owner: "staff1",
    denied: [
      ["customerA", "wrong role (the order's customer)"],
      ["driverA", "wrong role (the assigned driver)"],
      ["customerB", "other customer"],
      ["staff2", "other merchant"],
    ],
  },
  {
    name: "POST /api/orders/:id/cancel",
    method: "POST",
    path: () => `/api/orders/${order.id}/cancel`,
    body: () => ({ reason: "changed my mind" }),
    owner: "dispatch",
    denied: [
      ["customerB", "other customer"],
      ["staff1", "wrong role (merchant)"],
      ["driverA", "wrong role (driver)"],
    ],
  },
  {
    name: "POST /api/orders/:id/driver",
    method: "POST",
    path: () => `/api/orders/${order.id}/driver`,
    body: () => ({ driverId: "drv-b", name: "Bo" }),
    owner: "dispatch",
    denied: [
      ["customerA", "wrong role (customer)"],
      ["staff1", "wrong role (merchant)"],
      ["driverB", "wrong role (driver assigning itself)"],
    ],
  },
  driverAction("arrived"),
  driverAction("pickup"),
  driverAction("deliver"),
  merchantAction("accept", () => ({})),
  merchantAction("reject", () => ({ reason: "closed" })),
  merchantAction("preparing"),
  merchantAction("ready"),
  merchantAction("prep-time", () => ({ prepMinutes: 30 })),
  {
    name: "POST /api/merchants/:m/orders/bulk",
    method: "POST",
    path: () => `/api/merchants/${m1}/orders/bulk`,
    body: () => ({ action: "ready", orderIds: [order.id] }),
    owner: "staff1",
    denied: merchantActionDenials,
  },
];

async function call(route: RouteCase, authorization: string | undefined, query = "") {
  return api(route.method, route.path() + query, {
    ...(route.body ? { body: route.body() } : {}),
    ...(authorization !== undefined ? { headers: { Authorization: authorization } } : {}),
  });
}

/** Asserts the fixture order and its merchant's stream are exactly as beforeAll left them. */
async function expectNothingChanged(): Promise<void> {
  const now = await merchantStub(m1).getOrder(order.id);
  expect(now).toEqual(order);
  expect((await merchantStub(m1).board())!.seq).toBe(stream.seq);
  const merchant = await merchantStub(m1).getMerchant();
  expect(merchant?.name).toBe("Store One");
}

describe("REST: bad credentials are 401 on every route", () => {
  for (const route of ROUTES) {
    it(route.name, async () => {
      for (const { what, header } of await badCredentials(who[route.owner])) {
        expectError(await call(route, header), 401, "UNAUTHORIZED", `${route.name} with ${what}`);
      }
      // Tokens in the query string are for socket upgrades only (URLs end up in logs).
      expectError(
        await call(route, undefined, `${route.path().includes("?") ? "&" : "?"}token=${await as(route.owner)}`),
        401,
        "UNAUTHORIZED",
        `${route.name} with ?token=`,
      );
      await expectNothingChanged();
    });
  }
});

describe("REST: valid tokens of the wrong principal are 403 on every route", () => {
  for (const route of ROUTES) {
    it(route.name, async () => {
      for (const [name, what, code = "FORBIDDEN"] of route.denied) {
        expectError(
          await call(route, `Bearer ${await as(name)}`),
          code === "FORBIDDEN" ? 403 : 404,
          code,
          `${route.name} as ${what}`,
        );
      }
      await expectNothingChanged();
    });
  }

  it("a merchant cannot reach another merchant's order through its own path", async () => {
    for (const action of ["accept", "reject", "preparing", "ready", "prep-time"]) {
      const res = await api("POST", `/api/merchants/${m2}/orders/${order.id}/${action}`, {
        token: await as("staff2"),
        body: { reason: "x", prepMinutes: 10 },
      });
      expectError(res, 404, "NOT_FOUND", `${action} via m2's path`);
    }
    const bulk = await api("POST", `/api/merchants/${m2}/orders/bulk`, {
      token: await as("staff2"),
      body: { action: "accept", orderIds: [order.id] },
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body.results).toEqual([
      { orderId: order.id, ok: false, error: { code: "NOT_FOUND", message: expect.any(String) } },
    ]);
    await expectNothingChanged();
  });
});

interface SocketCase {
  name: string;
  path: () => string;
  owner: Who;
  denied: [Who, string][];
}

const SOCKETS: SocketCase[] = [
  {
    name: "/ws/merchant/:m/orders",
    path: () => `/ws/merchant/${m1}/orders`,
    owner: "staff1",
    denied: [
      ["staff2", "other merchant"],
      ["customerA", "wrong role (customer)"],
      ["driverA", "wrong role (driver)"],
    ],
  },
  {
    name: "/ws/order/:id",
    path: () => `/ws/order/${order.id}`,
    owner: "customerA",
    denied: [
      ["customerB", "other customer"],
      ["staff2", "other merchant"],
      ["driverB", "unassigned driver"],
    ],
  },
];

async function upgrade(
  path: string,
  opts: { authorization?: string; query?: Record<string, string>; origin?: string },
) {
  const url = new URL(`${BASE}${path}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (opts.authorization !== undefined) headers.Authorization = opts.authorization;
  if (opts.origin !== undefined) headers.Origin = opts.origin;
  const res = await exports.default.fetch(url, { headers });
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "test over");
    return { opened: true as const, status: res.status, body: null, headers: res.headers };
  }
  return { opened: false as const, ...(await asApiResponse(res)) };
}

describe("sockets: refused upgrades are HTTP errors before any socket opens", () => {
  for (const socket of SOCKETS) {
    it(`${socket.name}: bad credentials → 401, in the header or in ?token=`, async () => {
      for (const { what, header } of await badCredentials(who[socket.owner])) {
        const viaHeader = await upgrade(socket.path(), header !== undefined ? { authorization: header } : {});
        expect(viaHeader.opened, what).toBe(false);
        expectError(viaHeader, 401, "UNAUTHORIZED", `${socket.name} header ${what}`);
        const raw = header?.replace(/^Bearer /, "");
        if (raw === undefined || raw === header) continue;
        const viaQuery = await upgrade(socket.path(), { query: { token: raw } });
        expect(viaQuery.opened, what).toBe(false);
        expectError(viaQuery, 401, "UNAUTHORIZED", `${socket.name} ?token= ${what}`);
      }
      await expectNothingChanged();
    });

    it(`${socket.name}: valid tokens of the wrong principal → 403`, async () => {
      for (const [name, what] of socket.denied) {
        for (const how of ["header", "query"] as const) {
          const t = await as(name);
          const res = await upgrade(
            socket.path(),
            how === "header" ? { authorization: `Bearer ${t}` } : { query: { token: t } },
          );
          expect(res.opened, what).toBe(false);
          expectError(res, 403, "FORBIDDEN", `${socket.name} as ${what} (${how})`);
        }
      }
    });

    it(`${socket.name}: a bad Origin → 403 even with the right token; the own origin opens`, async () => {
      const t = `Bearer ${await as(socket.owner)}`;
      for (const origin of [
        "https://evil.example",
        "null",
        `${BASE}.evil.example`,
        BASE.replace("http:", "https:"),
        "http://ticket-rail.test:8080",
      ]) {
        const res = await upgrade(socket.path(), { authorization: t, origin });
        expect(res.opened, origin).toBe(false);
        expectError(res, 403, "FORBIDDEN", `${socket.name} from ${origin}`);
      }
      // A bad Origin is refused before the token is even looked at.
      expectError(
        await upgrade(socket.path(), { origin: "https://evil.example" }),
        403,
        "FORBIDDEN",
        "bad origin, no token",
      );
      expect((await upgrade(socket.path(), { authorization: t, origin: BASE })).opened).toBe(true);
      expect((await upgrade(socket.path(), { authorization: t })).opened).toBe(true);
    });
  }

  it("every entitled principal opens both paths (control)", async () => {
    for (const name of ["staff1", "dispatch"] as const) {
      (await open(`/ws/merchant/${m1}/orders`, { token: await as(name) })).close();
    }
    for (const name of ["customerA", "staff1", "driverA", "dispatch"] as const) {
      (await open(`/ws/order/${order.id}`, { token: await as(name) })).close();
    }
    // Without an upgrade, an authorised request to a socket path is 400, not a room response.
    const plain = await api("GET", `/ws/merchant/${m1}/orders`, { token: await as("staff1") });
    expectError(plain, 400, "BAD_REQUEST", "no Upgrade header");
  });

  it("unknown merchants and orders are 404 before any room is asked to open a socket", async () => {
    const res = await connect(`/ws/merchant/${uniqueId("nobody")}/orders`, { token: await as("dispatch") });
    expect(res.socket).toBeNull();
    expectError(await asApiResponse(res.response), 404, "NOT_FOUND", "unknown merchant");
    const res2 = await connect(`/ws/order/${m1}.doesnotexist`, { token: await as("dispatch") });
    expect(res2.socket).toBeNull();
    expectError(await asApiResponse(res2.response), 404, "NOT_FOUND", "unknown order");
    const res3 = await connect(`/ws/order/not-an-order-id`, { token: await as("dispatch") });
    expectError(await asApiResponse(res3.response), 404, "NOT_FOUND", "malformed order id");
  });
});

describe("sockets: an open socket reaches nothing it may not", () => {
  it("another merchant's screen cannot act on this merchant's orders; dispatch may watch but not act", async () => {
    const foreign = await open(`/ws/merchant/${m2}/orders`, { token: await as("staff2") });
    const watching = await open(`/ws/merchant/${m1}/orders`, { token: await as("dispatch") });
    const frames = [
      { action: "MERCHANT_MARK_READY", requestId: "x1", payload: { orderId: order.id } },
      { action: "MERCHANT_UPDATE_PREP_TIME", requestId: "x2", payload: { orderId: order.id, prepMinutes: 99 } },
      { action: "BULK_MARK_READY", requestId: "x3", payload: { orderIds: [order.id] } },
    ];
    for (const f of frames) foreign.send(f);
    for (const f of frames) watching.send(f);
    await foreign.until(
      (e) => e.filter((x) => ["ERROR", "BULK_RESULT", "ACK"].includes(x.event)).length === 3,
      5000,
      "foreign replies",
    );
    await watching.until(
      (e) => e.filter((x) => ["ERROR", "BULK_RESULT", "ACK"].includes(x.event)).length === 3,
      5000,
      "dispatch replies",
    );
    const replies = (s: typeof foreign) => s.envelopes.filter((x) => ["ERROR", "BULK_RESULT", "ACK"].includes(x.event));
    // In m2's room, m1's order does not exist; in m1's room, dispatch may not act.
    expect(
      replies(foreign).map((r) => (r.event === "BULK_RESULT" ? r.payload.results[0].error.code : r.payload.code)),
    ).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]);
    expect(replies(watching).map((r) => r.payload.code)).toEqual(["FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
    expect(foreign.closed).toBeNull();
    expect(watching.closed).toBeNull();
    await expectNothingChanged();
    foreign.close();
    watching.close();
  });

  it("a driver taken off an order loses it: the open socket closes and neither it nor REST opens again", async () => {
    const t = { cust: await as("customerA"), staff: await as("staff1"), ops: await as("dispatch") };
    const placed = await api<Order>("POST", "/api/orders", { token: t.cust, body: { merchantId: m1, items: ITEMS } });
    const id = placed.body.id;
    await api("POST", `/api/orders/${id}/driver`, { token: t.ops, body: { driverId: "drv-a", name: "Ada" } });
    await merchantStub(m1).deliverPending();
    const ada = await open(`/ws/order/${id}`, { token: await as("driverA") });
    await api("POST", `/api/orders/${id}/driver`, { token: t.ops, body: { driverId: "drv-b", name: "Bo" } });
    await merchantStub(m1).deliverPending();
    expect((await ada.waitClosed()).code).toBe(1008);
    const again = await upgrade(`/ws/order/${id}`, { authorization: `Bearer ${await as("driverA")}` });
    expectError(again, 403, "FORBIDDEN", "reassigned driver's socket");
    expectError(
      await api("GET", `/api/orders/${id}`, { token: await as("driverA") }),
      403,
      "FORBIDDEN",
      "reassigned driver's GET",
    );
    await api("POST", `/api/merchants/${m1}/orders/${id}/accept`, { token: t.staff, body: {} });
    await api("POST", `/api/merchants/${m1}/orders/${id}/ready`, { token: t.staff });
    expectError(
      await api("POST", `/api/orders/${id}/pickup`, { token: await as("driverA") }),
      403,
      "FORBIDDEN",
      "reassigned driver's pickup",
    );
    expect((await api("POST", `/api/orders/${id}/pickup`, { token: await as("driverB") })).status).toBe(200);
    // Leave the fixture's stream position as expectNothingChanged knows it.
    stream.seq = (await merchantStub(m1).board())!.seq;
  });
});

describe("the right principal passes every route (control for the matrix above)", () => {
  it("a whole lifecycle by exactly the entitled callers", async () => {
    const t = {
      cust: await as("customerA"),
      staff: await as("staff1"),
      drv: await as("driverA"),
      ops: await as("dispatch"),
    };
    const place = async () =>
      (await api<Order>("POST", "/api/orders", { token: t.cust, body: { merchantId: m1, items: ITEMS } })).body;
    const a = await place();
    const b = await place();
    const c = await place();
    const d = await place();
    const steps: [string, string, string, unknown?][] = [
      [t.ops, "PUT", `/api/merchants/${m2}`, { name: "Store Two" }],
      [t.staff, "GET", `/api/merchants/${m1}/orders`],
      [t.ops, "GET", `/api/merchants/${m1}/orders?status=all`],
      [t.staff, "POST", `/api/merchants/${m1}/orders/${a.id}/accept`, { prepMinutes: 10 }],
      [t.staff, "POST", `/api/merchants/${m1}/orders/${a.id}/prep-time`, { prepMinutes: 12 }],
      [t.staff, "POST", `/api/merchants/${m1}/orders/${a.id}/preparing`],
      [t.ops, "POST", `/api/orders/${a.id}/driver`, { driverId: "drv-a", name: "Ada" }],
      [t.drv, "POST", `/api/orders/${a.id}/arrived`],
      [t.staff, "POST", `/api/merchants/${m1}/orders/${a.id}/ready`],
      [t.drv, "POST", `/api/orders/${a.id}/pickup`],
      [t.drv, "POST", `/api/orders/${a.id}/deliver`],
      [t.cust, "GET", `/api/orders/${a.id}`],
      [t.staff, "GET", `/api/orders/${a.id}`],
      [t.drv, "GET", `/api/orders/${a.id}`],
      [t.ops, "GET", `/api/orders/${a.id}/events`],
      [t.staff, "GET", `/api/orders/${a.id}/events`],
      [t.staff, "POST", `/api/merchants/${m1}/orders/${b.id}/reject`, { reason: "sold out" }],
      [t.cust, "POST", `/api/orders/${c.id}/cancel`, { reason: "changed my mind" }],
      [t.staff, "POST", `/api/merchants/${m1}/orders/bulk`, { action: "accept", orderIds: [d.id] }],
      [t.ops, "POST", `/api/orders/${d.id}/cancel`, { reason: "store closed" }],
    ];
    for (const [tok, method, path, body] of steps) {
      const res = await api(method, path, { token: tok, ...(body !== undefined ? { body } : {}) });
      expect([200, 201], `${method} ${path}: ${JSON.stringify(res.body)}`).toContain(res.status);
    }
  });
});
