/**
 * Nobody where they don't belong: every REST route and both socket paths against every kind of
 * bad credential (401) and every principal that holds a valid token but is not entitled (403),
 * plus bad Origins on the socket upgrades, decided in the Worker before a room is woken; an open
 * socket reaches nothing its token does not; a token stops at its expiry; a deploy without
 * AUTH_SECRET fails closed. Each refusal must be the exact status with the exact error shape, and
 * none may change anything.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode, Order } from "../../schema/index.ts";
import { issueToken, verifyToken } from "../auth.ts";
import { app } from "../app.ts";
import { expectError } from "./support/assertions.ts";
import { badCredentials, type Claims, OTHER_SECRET, tokenFor, tokens } from "./support/credentials.ts";
import { evictIfRunning, ITEMS, merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, type ApiOptions, asApiResponse, BASE, callApp, SECRET, uniqueId } from "./support/http.ts";
import { alarmOf } from "./support/room-seams.ts";
import { checkAndClose, checkFrames } from "./support/frames.ts";
import {
  act,
  barrier,
  connect,
  merchantPath,
  open,
  openMerchantSocket,
  orderPath,
  type TestSocket,
  upgrade,
  waitFor,
} from "./support/sockets.ts";

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
  ...(["active", "all"] as const).map(
    (status): RouteCase => ({
      name: `GET /api/merchants/:m/orders?status=${status}`,
      method: "GET",
      path: () => `/api/merchants/${m1}/orders?status=${status}`,
      owner: "staff1",
      denied: [
        ["staff2", "other merchant"],
        ["customerA", "wrong role (customer)"],
        ["driverA", "wrong role (driver)"],
      ],
    }),
  ),
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

  it("authenticates before validating (a bad body without a token is 401, not 400)", async () => {
    expectError(await api("POST", "/api/orders", { body: { merchantId: "" } }), 401, "UNAUTHORIZED");
  });
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
        BASE.replace("http:", "https:"), // another scheme is another origin
        "http://ticket-rail.test:8080",
        `${BASE}/`, // an origin is scheme, host and port: nothing more
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

  it("every entitled principal opens both paths, token in the header or in ?token= (control)", async () => {
    const opens = async (path: string, name: Who, how: "header" | "query") => {
      const t = await as(name);
      const { socket, response } = await connect(path, how === "header" ? { token: t } : { query: { token: t } });
      expect(response.status, `${path} as ${name} (${how})`).toBe(101);
      await socket!.until((e) => e.length > 0, 5000, "first frame");
      expect(socket!.envelopes[0].event).toBe("SNAPSHOT");
      socket!.close();
    };
    for (const how of ["header", "query"] as const) {
      for (const name of ["staff1", "dispatch"] as const) await opens(`/ws/merchant/${m1}/orders`, name, how);
      for (const name of ["customerA", "staff1", "driverA", "dispatch"] as const)
        await opens(`/ws/order/${order.id}`, name, how);
    }
    // Without an upgrade, an authorised request to a socket path is 400, not a room response.
    const plain = await api("GET", `/ws/merchant/${m1}/orders`, { token: await as("staff1") });
    expectError(plain, 400, "BAD_REQUEST", "no Upgrade header");
  });

  it("unknown or malformed merchants and orders are 404 before any room is asked to open a socket", async () => {
    const nobody = uniqueId("nobody");
    const cases: [string, Who | Claims][] = [
      [`/ws/merchant/${nobody}/orders`, "dispatch"],
      [`/ws/merchant/${nobody}/orders`, { role: "merchant", sub: "staff-1", merchantId: nobody }],
      ["/ws/merchant/bad%20id!/orders", "dispatch"],
      ["/ws/nowhere", "dispatch"],
      [`/ws/order/${m1}.doesnotexist`, "dispatch"],
      [`/ws/order/${m1}.doesnotexist`, "customerA"],
      [`/ws/order/${nobody}.abc123`, "dispatch"],
      ["/ws/order/not-an-order-id", "dispatch"],
      ["/ws/order/%2e%2e", "dispatch"],
    ];
    for (const [path, name] of cases) {
      const t = typeof name === "string" ? await as(name) : await tokenFor(name);
      const res = await upgrade(path, { authorization: `Bearer ${t}` });
      expect(res.opened, path).toBe(false);
      expectError(res, 404, "NOT_FOUND", path);
    }
  });
});

describe("sockets: the upgrade is decided in the Worker", () => {
  it("a refused upgrade never wakes the room", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const stub = merchantStub(b.merchantId);
    // Nothing scheduled that could wake the room by itself (creating it queued a D1 projection).
    await waitFor(async () => (await alarmOf(stub)) === null, 10_000, "no alarm");
    await evictIfRunning(stub);
    expect(await evictIfRunning(stub)).toBe(false);
    const path = merchantPath(b.merchantId);
    expectError(await upgrade(path, { authorization: `Bearer ${a.staff}` }), 403, "FORBIDDEN", "other merchant");
    expectError(await upgrade(path), 401, "UNAUTHORIZED", "no token");
    expectError(
      await upgrade(path, { authorization: `Bearer ${b.staff}`, origin: "https://evil.example" }),
      403,
      "FORBIDDEN",
      "bad origin",
    );
    expect(await evictIfRunning(stub)).toBe(false);
  });

  it("a client cannot smuggle an identity: the Worker's verified identity always wins", async () => {
    const { merchantId } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const spoof = JSON.stringify({ role: "merchant", sub: "evil", merchantId });
    const { socket } = await connect(merchantPath(merchantId), {
      token: await tokens.dispatch(),
      headers: { "x-ticket-rail-identity": spoof },
    });
    expect(socket).not.toBeNull();
    await socket!.until((e) => e.length > 0);
    const r = await act(socket!, "MERCHANT_ACCEPT", { orderId: order.id });
    expect(r).toMatchObject({ event: "ERROR", payload: { code: "FORBIDDEN" } });
    checkFrames(socket!, "merchant");
    socket!.close();
  });

  it("ALLOWED_ORIGINS adds origins (the configured Worker, same code path)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const configured = { ...(env as unknown as Env), ALLOWED_ORIGINS: "https://kitchen.example, https://ops.example" };
    const upgradeFrom = (origin: string) =>
      app.fetch(
        new Request(`${BASE}${merchantPath(merchantId)}`, {
          headers: { Upgrade: "websocket", Authorization: `Bearer ${staff}`, Origin: origin },
        }),
        configured,
        createExecutionContext(),
      );
    for (const origin of ["https://kitchen.example", "https://ops.example", new URL(BASE).origin]) {
      const res = await upgradeFrom(origin);
      expect(res.status, origin).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close(1000, "done");
    }
    // An empty Origin is present and not allowed (the runtime drops it on the exports.default hop,
    // hence this check here).
    for (const origin of [
      "https://evil.example",
      "https://kitchen.example.evil.example",
      "http://kitchen.example",
      "",
    ]) {
      expectError(await asApiResponse(await upgradeFrom(origin)), 403, "FORBIDDEN", origin);
    }
  });

  it("a socket opened with ?token= works end to end", async () => {
    const { merchantId, staff } = await setupMerchant();
    const owner = await tokens.customer("cust-query");
    const order = await placeOrder(merchantId, owner);
    const screen = await openMerchantSocket(merchantId, staff);
    const { socket } = await connect(orderPath(order.id), { query: { token: owner } });
    await socket!.until((e) => e.length > 0);
    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    await socket!.next((e) => e.event === "MERCHANT_ACCEPTED");
    checkFrames(socket!, "order");
    socket!.close();
    screen.close();
  });
});

describe("sockets: an open socket reaches nothing it may not", () => {
  it("another merchant's screen cannot act on this merchant's orders; dispatch may watch but not act", async () => {
    const foreign = await open(`/ws/merchant/${m2}/orders`, { token: await as("staff2") });
    const watching = await open(`/ws/merchant/${m1}/orders`, { token: await as("dispatch") });
    const frames = [
      { action: "MERCHANT_ACCEPT", payload: { orderId: order.id } },
      { action: "MERCHANT_REJECT", payload: { orderId: order.id, reason: "ops says no" } },
      { action: "MERCHANT_MARK_READY", payload: { orderId: order.id } },
      { action: "MERCHANT_UPDATE_PREP_TIME", payload: { orderId: order.id, prepMinutes: 99 } },
      { action: "BULK_ACCEPT", payload: { orderIds: [order.id] } },
      { action: "BULK_MARK_READY", payload: { orderIds: [order.id] } },
    ] as const;
    const codes = async (socket: TestSocket) => {
      const out: string[] = [];
      for (const f of frames) {
        const r = await act(socket, f.action, f.payload);
        out.push(r.event === "BULK_RESULT" ? r.payload.results[0].error.code : r.payload.code);
      }
      return out;
    };
    // In m2's room, m1's order does not exist; in m1's room, dispatch may not act.
    expect(await codes(foreign)).toEqual(frames.map(() => "NOT_FOUND"));
    expect(await codes(watching)).toEqual(frames.map(() => "FORBIDDEN"));
    expect(foreign.closed).toBeNull();
    expect(watching.closed).toBeNull();
    await expectNothingChanged();

    // Both stay open: dispatch keeps receiving m1's stream, and nothing of m1 reaches m2's screen.
    const fresh = await api<Order>("POST", "/api/orders", {
      token: await as("customerA"),
      body: { merchantId: m1, items: ITEMS },
    });
    await api("POST", `/api/merchants/${m1}/orders/${fresh.body.id}/accept`, { token: await as("staff1"), body: {} });
    const seen = await watching.next((e) => e.event === "MERCHANT_ACCEPTED" && e.payload.order.id === fresh.body.id);
    expect(seen.payload.actor).toEqual({ role: "merchant", id: "staff-1" });
    await barrier(foreign);
    expect(foreign.stream()).toEqual([]);
    checkAndClose("merchant", foreign, watching);
    // Leave the fixture's stream position as expectNothingChanged knows it.
    stream.seq = (await merchantStub(m1).board())!.seq;
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
    checkFrames(ada, "order");
    // The new driver has the live view, and its snapshot names it.
    const bo = await open(`/ws/order/${id}`, { token: await as("driverB") });
    expect(bo.envelopes[0].payload.order.driver.id).toBe("drv-b");
    bo.close();
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
    // Leave the fixture's stream position as expectNothingChanged knows it.
    stream.seq = (await merchantStub(m1).board())!.seq;
  });
});

describe("a token's lifetime", () => {
  it("a token in use stops working the moment it expires, and never works under another secret", async () => {
    const token = await issueToken({ role: "merchant", sub: "short-shift", merchantId: m1 }, SECRET, 2);
    const path = `/api/merchants/${m1}/orders`;
    expect((await api("GET", path, { token })).status).toBe(200);
    expect(await verifyToken(token, SECRET)).toMatchObject({ role: "merchant", id: "short-shift", merchantId: m1 });
    await expect(verifyToken(token, OTHER_SECRET)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const { exp } = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { exp: number };
    // Tokens are checked in the Worker against real time: there is no room clock to move.
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    expectError(await api("GET", path, { token }), 401, "UNAUTHORIZED");
    await expect(verifyToken(token, SECRET)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  }, 10_000);
});

describe("a deploy without AUTH_SECRET fails closed", () => {
  for (const secret of [undefined, "", "short"]) {
    it(`AUTH_SECRET = ${JSON.stringify(secret)}: a clear 500 for every request that needs a token, a once-valid one included, sockets too`, async () => {
      const patch = { AUTH_SECRET: secret, DEV_MODE: undefined };
      const dispatch = await as("dispatch");
      const upgradeHeaders = { Upgrade: "websocket" };
      const cases: [string, string, ApiOptions][] = [
        ["POST", `/api/merchants/${m1}/orders/${order.id}/accept`, { token: await as("staff1"), body: {} }],
        ["GET", `/api/orders/${order.id}`, { token: dispatch }],
        // Not even an unauthenticated request gets a 401 that could be mistaken for "fine otherwise".
        ["GET", `/api/orders/${order.id}`, {}],
        ["GET", `/api/merchants/${m1}/orders`, { token: dispatch }],
        ["POST", `/api/orders/${order.id}/cancel`, { token: dispatch, body: { reason: "x" } }],
        ["GET", `/ws/merchant/${m1}/orders`, { token: dispatch, headers: upgradeHeaders }],
        ["GET", `/ws/order/${order.id}?token=${dispatch}`, { headers: upgradeHeaders }],
      ];
      for (const [method, path, opts] of cases) {
        const error = expectError(await callApp(patch, method, path, opts), 500, "INTERNAL", `${method} ${path}`);
        expect(error.message).toMatch(/AUTH_SECRET/);
      }
      // Health has nothing to protect; and with dev mode on, dev tokens cannot be minted either.
      expect((await callApp(patch, "GET", "/api/health")).body).toMatchObject({ ok: true });
      const mint = await callApp({ AUTH_SECRET: secret, DEV_MODE: "true" }, "POST", "/api/dev/token", {
        body: { role: "dispatch", sub: "ops" },
      });
      expectError(mint, 500, "INTERNAL", "dev token");
      await expectNothingChanged();
    });
  }
});
