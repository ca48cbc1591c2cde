/**
 * Upgrade refusals: authentication, authorisation and the Origin check happen in the Worker,
 * before any socket opens and before the room is woken; a refusal is a plain HTTP error in the
 * API's JSON error shape.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ErrorResponseSchema } from "../../schema/index.ts";
import { app } from "../app.ts";
import { issueToken } from "../auth.ts";
import { token, tokens } from "./support/credentials.ts";
import { evictIfRunning, flushOutbox, merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { alarmOf } from "./support/room-seams.ts";
import { api, BASE, SECRET } from "./support/http.ts";
import { act, checkFrames, connect, merchantPath, openMerchantSocket, orderPath, waitFor } from "./support/sockets.ts";

/** Expects the upgrade to be refused with `status` / `code` and no socket. */
async function refused(path: string, opts: Parameters<typeof connect>[1], status: number, code: string) {
  const { socket, response } = await connect(path, opts);
  expect(socket, `${path} ${JSON.stringify(opts)} should be refused`).toBeNull();
  expect(response.status, `${path} ${JSON.stringify(opts?.headers ?? {})}`).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = await response.json();
  expect(ErrorResponseSchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect((body as { error: { code: string } }).error.code).toBe(code);
}

/** Expects the upgrade to open a socket whose first frame is SNAPSHOT. */
async function accepted(path: string, opts: Parameters<typeof connect>[1]) {
  const { socket, response } = await connect(path, opts);
  expect(socket, `${path}: ${response.status}`).not.toBeNull();
  expect(response.status).toBe(101);
  await socket!.until((e) => e.length > 0, 5000, "first frame");
  expect(socket!.envelopes[0].event).toBe("SNAPSHOT");
  socket!.close();
}

describe("merchant room upgrades", () => {
  it("tokens: none, expired, wrongly signed or malformed → 401; another merchant's staff → 403; customers and drivers → 403", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const path = merchantPath(b.merchantId);
    await refused(path, {}, 401, "UNAUTHORIZED");
    const expired = await issueToken({ role: "merchant", sub: "staff-1", merchantId: b.merchantId }, SECRET, -60);
    await refused(path, { token: expired }, 401, "UNAUTHORIZED");
    await refused(path, { query: { token: expired } }, 401, "UNAUTHORIZED");
    const forged = await issueToken(
      { role: "merchant", sub: "staff-1", merchantId: b.merchantId },
      "another-secret-0123456789abcdef",
    );
    await refused(path, { token: forged }, 401, "UNAUTHORIZED");
    await refused(path, { token: "not.a.jwt" }, 401, "UNAUTHORIZED");
    await refused(path, { headers: { Authorization: `Basic ${btoa("a:b")}` } }, 401, "UNAUTHORIZED");
    await refused(path, { query: { token: "" } }, 401, "UNAUTHORIZED");

    await refused(path, { token: a.staff }, 403, "FORBIDDEN");
    await refused(path, { query: { token: a.staff } }, 403, "FORBIDDEN");
    await refused(path, { token: await tokens.customer() }, 403, "FORBIDDEN");
    await refused(path, { token: await tokens.driver() }, 403, "FORBIDDEN");

    await accepted(path, { token: b.staff });
    await accepted(path, { query: { token: b.staff } });
    await accepted(path, { token: await tokens.dispatch() });
  });

  it("a refused upgrade never wakes the room", async () => {
    const a = await setupMerchant();
    const b = await setupMerchant();
    const stub = merchantStub(b.merchantId);
    // Nothing scheduled that could wake the room by itself (creating it queued a D1 projection).
    await waitFor(async () => (await alarmOf(stub)) === null, 10_000, "no alarm");
    await evictIfRunning(stub); // evicts it if it was running
    expect(await evictIfRunning(stub)).toBe(false);
    await refused(merchantPath(b.merchantId), { token: a.staff }, 403, "FORBIDDEN");
    await refused(merchantPath(b.merchantId), {}, 401, "UNAUTHORIZED");
    await refused(
      merchantPath(b.merchantId),
      { token: b.staff, headers: { Origin: "https://evil.example" } },
      403,
      "FORBIDDEN",
    );
    expect(await evictIfRunning(stub)).toBe(false);
  });

  it("unknown or malformed merchant → 404; a plain GET without Upgrade is an HTTP error, not a socket", async () => {
    const unknown = `m-${crypto.randomUUID().slice(0, 8)}`;
    await refused(merchantPath(unknown), { token: await tokens.merchant(unknown) }, 404, "NOT_FOUND");
    await refused(merchantPath(unknown), { token: await tokens.dispatch() }, 404, "NOT_FOUND");
    await refused("/ws/merchant/bad%20id!/orders", { token: await tokens.dispatch() }, 404, "NOT_FOUND");
    await refused("/ws/nowhere", { token: await tokens.dispatch() }, 404, "NOT_FOUND");

    const { merchantId, staff } = await setupMerchant();
    const plain = await api("GET", merchantPath(merchantId), { token: staff });
    expect(plain.status).toBe(400);
    expect(ErrorResponseSchema.safeParse(plain.body).success).toBe(true);
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
});

describe("Origin", () => {
  it("absent or the request's own origin → allowed; any other origin → 403", async () => {
    const { merchantId, staff } = await setupMerchant();
    const path = merchantPath(merchantId);
    await accepted(path, { token: staff });
    await accepted(path, { token: staff, headers: { Origin: new URL(BASE).origin } });
    for (const origin of [
      "https://evil.example",
      "null",
      "http://ticket-rail.test.evil.example",
      "https://ticket-rail.test", // another scheme is another origin
      "http://ticket-rail.test:8080",
      `${new URL(BASE).origin}/`,
    ]) {
      await refused(path, { token: staff, headers: { Origin: origin } }, 403, "FORBIDDEN");
    }
    const order = await placeOrder(merchantId, await tokens.customer("cust-origin"));
    await refused(
      orderPath(order.id),
      { token: await tokens.customer("cust-origin"), headers: { Origin: "https://evil.example" } },
      403,
      "FORBIDDEN",
    );
  });

  it("ALLOWED_ORIGINS adds origins (the configured Worker, same code path)", async () => {
    const { merchantId, staff } = await setupMerchant();
    const configured = { ...(env as unknown as Env), ALLOWED_ORIGINS: "https://kitchen.example, https://ops.example" };
    const upgrade = (origin: string) =>
      app.fetch(
        new Request(`${BASE}${merchantPath(merchantId)}`, {
          headers: { Upgrade: "websocket", Authorization: `Bearer ${staff}`, Origin: origin },
        }),
        configured,
        createExecutionContext(),
      );
    for (const origin of ["https://kitchen.example", "https://ops.example", new URL(BASE).origin]) {
      const res = await upgrade(origin);
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
      const res = await upgrade(origin);
      expect(res.status, origin).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    }
  });
});

describe("order room upgrades", () => {
  it("its customer, its merchant, its assigned driver and dispatch may watch; others 403; unknown order 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const other = await setupMerchant();
    const owner = await tokens.customer("cust-owner");
    const order = await placeOrder(merchantId, owner);
    const path = orderPath(order.id);

    await accepted(path, { token: owner });
    await accepted(path, { query: { token: owner } });
    await accepted(path, { token: staff });
    await accepted(path, { token: await tokens.dispatch() });
    await refused(path, { token: await tokens.customer("cust-stranger") }, 403, "FORBIDDEN");
    await refused(path, { query: { token: await tokens.customer("cust-stranger") } }, 403, "FORBIDDEN");
    await refused(path, { token: other.staff }, 403, "FORBIDDEN");
    await refused(path, { token: await tokens.driver("drv-1") }, 403, "FORBIDDEN");
    await refused(path, {}, 401, "UNAUTHORIZED");
    await refused(
      path,
      { token: await issueToken({ role: "customer", sub: "cust-owner" }, SECRET, -1) },
      401,
      "UNAUTHORIZED",
    );

    await api("POST", `/api/orders/${order.id}/driver`, {
      token: await tokens.dispatch(),
      body: { driverId: "drv-1", name: "Ann" },
    });
    await flushOutbox(merchantId);
    await accepted(path, { token: await tokens.driver("drv-1") });
    await refused(path, { token: await tokens.driver("drv-2") }, 403, "FORBIDDEN");

    await refused(orderPath(`${merchantId}.doesnotexist`), { token: owner }, 404, "NOT_FOUND");
    await refused(
      orderPath(`m-nobody-${crypto.randomUUID().slice(0, 6)}.abc123`),
      { token: await tokens.dispatch() },
      404,
      "NOT_FOUND",
    );
    await refused(orderPath("no-dot-here"), { token: await tokens.dispatch() }, 404, "NOT_FOUND");
    await refused(orderPath("%2e%2e"), { token: await tokens.dispatch() }, 404, "NOT_FOUND");
  });

  it("a socket opened with ?token= works end to end", async () => {
    const { merchantId, staff } = await setupMerchant();
    const owner = await token("customer", "cust-query");
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
