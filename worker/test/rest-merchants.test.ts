/**
 * `/api/merchants/...`: settings, the live board and history, and every merchant action —
 * success, 400 (zod details), 404, 409. (401 and 403 for every route and principal:
 * security-auth.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { ListOrdersResponseSchema, OrderSchema, type Order } from "../../schema/index.ts";
import { expectError, expectJson, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, orderIn, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { historyMerchantRow } from "./support/history.ts";
import { api, uniqueId } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

const actionPath = (merchantId: string, orderId: string, action: string) =>
  `/api/merchants/${merchantId}/orders/${orderId}/${action}`;

describe("PUT /api/merchants/:merchantId", () => {
  it("creates (201) with the defaults, updates (200) keeping unspecified settings, and projects to D1", async () => {
    const merchantId = uniqueId("m");
    const dispatch = await tokens.dispatch();
    const created = await api("PUT", `/api/merchants/${merchantId}`, { token: dispatch, body: { name: "Noodle Bar" } });
    expectJson(created, 201);
    expect(created.body).toEqual({
      id: merchantId,
      name: "Noodle Bar",
      acceptWindowSeconds: 600,
      defaultPrepMinutes: 15,
    });

    const updated = await api("PUT", `/api/merchants/${merchantId}`, {
      token: dispatch,
      body: { name: "Noodle Bar 2", acceptWindowSeconds: 120 },
    });
    expectJson(updated, 200);
    expect(updated.body).toEqual({
      id: merchantId,
      name: "Noodle Bar 2",
      acceptWindowSeconds: 120,
      defaultPrepMinutes: 15,
    });
    const again = await api("PUT", `/api/merchants/${merchantId}`, {
      token: dispatch,
      body: { name: "Noodle Bar 3", defaultPrepMinutes: 30 },
    });
    expect(again.body).toEqual({
      id: merchantId,
      name: "Noodle Bar 3",
      acceptWindowSeconds: 120,
      defaultPrepMinutes: 30,
    });

    // No stream event for settings.
    expect(await merchantLog(merchantId)).toEqual([]);
    await flushOutbox(merchantId);
    expect(await historyMerchantRow(merchantId)).toEqual({
      name: "Noodle Bar 3",
      accept_window_seconds: 120,
      default_prep_minutes: 30,
    });
  });

  it("400 with zod details for a bad body or id", async () => {
    const dispatch = await tokens.dispatch();
    const id = uniqueId("m");
    expectZod400(await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: {} }), ["name"]);
    expectZod400(await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: "  " } }), ["name"]);
    expectZod400(
      await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: "K", acceptWindowSeconds: 59 } }),
      ["acceptWindowSeconds"],
    );
    expectZod400(
      await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: "K", acceptWindowSeconds: 3601 } }),
      ["acceptWindowSeconds"],
    );
    expectZod400(
      await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: "K", defaultPrepMinutes: 0 } }),
      ["defaultPrepMinutes"],
    );
    expectZod400(
      await api("PUT", `/api/merchants/${id}`, { token: dispatch, body: { name: "K", defaultPrepMinutes: 181 } }),
      ["defaultPrepMinutes"],
    );
    expectZod400(await api("PUT", `/api/merchants/bad.id`, { token: dispatch, body: { name: "K" } }), ["merchantId"]);
    // Nothing was created by the refusals.
    expectError(await api("GET", `/api/merchants/${id}/orders`, { token: dispatch }), 404, "NOT_FOUND");
  });

  it("keeps the v2 settings (stations, allergens, time zone, location hint, auto-pause) and refuses bad ones", async () => {
    const merchantId = uniqueId("m");
    const dispatch = await tokens.dispatch();
    const settings = {
      name: "Grill House",
      stations: [{ id: "grill", name: "Grill", match: ["*burger*"] }],
      allergens: ["peanut", "sesame"],
      timeZone: "Europe/Lisbon",
      locationHint: "weur",
      autoPause: { afterExpiredInARow: 5, noScreenMinutes: 0 },
    };
    expect((await api("PUT", `/api/merchants/${merchantId}`, { token: dispatch, body: settings })).status).toBe(201);
    // Updating the name keeps everything else (the location hint only matters when the room is created).
    expect(
      (await api("PUT", `/api/merchants/${merchantId}`, { token: dispatch, body: { name: "Grill House 2" } })).status,
    ).toBe(200);
    const got = await api("GET", `/api/merchants/${merchantId}`, { token: dispatch });
    expect(got.body).toMatchObject({ ...settings, name: "Grill House 2", availability: { mode: "OPEN" }, soldOut: [] });
    for (const bad of [
      { locationHint: "mars" },
      { timeZone: "Not/AZone" },
      { stations: [{ id: "a", name: "A", match: [] }] },
    ]) {
      const res = await api("PUT", `/api/merchants/${uniqueId("m")}`, { token: dispatch, body: { name: "X", ...bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });

  it("403 for merchant staff creating a merchant, and nothing is created", async () => {
    const { staff } = await setupMerchant();
    const id = uniqueId("m");
    expectError(await api("PUT", `/api/merchants/${id}`, { token: staff, body: { name: "New" } }), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/merchants/${id}/orders`, { token: await tokens.dispatch() }), 404, "NOT_FOUND");
  });
});

describe("GET /api/merchants/:merchantId/orders", () => {
  it("status=active (the default): PLACED..READY, oldest first, with the room's seq; limit and cursor page through it", async () => {
    const { merchantId, staff } = await setupMerchant();
    const placed = await orderIn(merchantId, "PLACED");
    const accepted = await orderIn(merchantId, "ACCEPTED");
    const rejected = await orderIn(merchantId, "REJECTED");
    const ready = await orderIn(merchantId, "READY");
    const delivered = await orderIn(merchantId, "DELIVERED");
    const cancelled = await orderIn(merchantId, "CANCELLED");
    const preparing = await orderIn(merchantId, "PREPARING");
    const log = await merchantLog(merchantId);

    for (const query of ["", "?status=active"]) {
      const res = await api("GET", `/api/merchants/${merchantId}/orders${query}`, { token: staff });
      expectJson(res, 200);
      expect(ListOrdersResponseSchema.strict().safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
      expect(res.body.orders.map((o: Order) => o.id)).toEqual([placed.id, accepted.id, ready.id, preparing.id]);
      expect(res.body.orders.map((o: Order) => o.status)).toEqual(["PLACED", "ACCEPTED", "READY", "PREPARING"]);
      expect(res.body.seq).toBe(log.length);
      expect(res.body.nextCursor).toBeUndefined();
    }
    expect([rejected, delivered, cancelled].every((o) => o.id)).toBe(true);

    // Dispatch may read it too; pages of 3 then 1.
    const dispatch = await tokens.dispatch();
    const page1 = await api("GET", `/api/merchants/${merchantId}/orders?status=active&limit=3`, { token: dispatch });
    expectJson(page1, 200);
    expect(page1.body.orders.map((o: Order) => o.id)).toEqual([placed.id, accepted.id, ready.id]);
    expect(typeof page1.body.nextCursor).toBe("string");
    const page2 = await api(
      "GET",
      `/api/merchants/${merchantId}/orders?status=active&limit=3&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
      {
        token: dispatch,
      },
    );
    expect(page2.body.orders.map((o: Order) => o.id)).toEqual([preparing.id]);
    expect(page2.body.nextCursor).toBeUndefined();
  });

  it("status=active: the cursor is a position in time, so an order leaving the board between pages skips nothing", async () => {
    const { merchantId, staff } = await setupMerchant();
    const [a, b, c, d] = [
      await placeOrder(merchantId),
      await placeOrder(merchantId),
      await placeOrder(merchantId),
      await placeOrder(merchantId),
    ];
    const page1 = await api("GET", `/api/merchants/${merchantId}/orders?status=active&limit=2`, { token: staff });
    expect(page1.body.orders.map((o: Order) => o.id)).toEqual([a.id, b.id]);
    // Between the two pages the kitchen rejects A: it leaves the board.
    expect(
      (await api("POST", actionPath(merchantId, a.id, "reject"), { token: staff, body: { reason: "sold out" } }))
        .status,
    ).toBe(200);
    const e = await placeOrder(merchantId);
    const page2 = await api(
      "GET",
      `/api/merchants/${merchantId}/orders?status=active&limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
      {
        token: staff,
      },
    );
    expect(page2.body.orders.map((o: Order) => o.id)).toEqual([c.id, d.id]);
    const page3 = await api(
      "GET",
      `/api/merchants/${merchantId}/orders?status=active&limit=2&cursor=${encodeURIComponent(page2.body.nextCursor)}`,
      {
        token: staff,
      },
    );
    expect(page3.body.orders.map((o: Order) => o.id)).toEqual([e.id]);
    expect(page3.body.nextCursor).toBeUndefined();
  });

  it("status=all: history from the room, newest first, cursor pagination with limit, every status", async () => {
    const { merchantId, staff } = await setupMerchant();
    const ids: string[] = [];
    for (const s of ["DELIVERED", "PLACED", "REJECTED", "ACCEPTED", "CANCELLED", "READY", "PLACED"] as const)
      ids.push((await orderIn(merchantId, s)).id);
    await flushOutbox(merchantId);
    const newestFirst = [...ids].reverse();
    const seq = (await merchantLog(merchantId)).length;

    const all = await api("GET", `/api/merchants/${merchantId}/orders?status=all`, { token: staff });
    expectJson(all, 200);
    expect(ListOrdersResponseSchema.strict().safeParse(all.body).success).toBe(true);
    expect(all.body.orders.map((o: Order) => o.id)).toEqual(newestFirst);
    expect(all.body.orders.map((o: Order) => o.status)).toEqual([
      "PLACED",
      "READY",
      "CANCELLED",
      "ACCEPTED",
      "REJECTED",
      "PLACED",
      "DELIVERED",
    ]);
    expect(all.body.seq).toBe(seq);
    expect(all.body.nextCursor).toBeUndefined();

    // The history holds each order at its latest version (D1 is idempotent by version).
    for (const o of all.body.orders as Order[]) {
      const live = await api<Order>("GET", `/api/orders/${o.id}`, { token: staff });
      expect(o).toEqual(live.body);
    }

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api(
        "GET",
        `/api/merchants/${merchantId}/orders?status=all&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        {
          token: staff,
        },
      );
      expectJson(res, 200);
      expect(res.body.orders.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.orders.map((o: Order) => o.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);
  });

  it("limit defaults to 50", async () => {
    const { merchantId, staff } = await setupMerchant();
    for (let i = 0; i < 51; i++) await placeOrder(merchantId);
    const res = await api("GET", `/api/merchants/${merchantId}/orders`, { token: staff });
    expect(res.body.orders).toHaveLength(50);
    expect(typeof res.body.nextCursor).toBe("string");
    const rest = await api(
      "GET",
      `/api/merchants/${merchantId}/orders?cursor=${encodeURIComponent(res.body.nextCursor)}`,
      { token: staff },
    );
    expect(rest.body.orders).toHaveLength(1);
    const max = await api("GET", `/api/merchants/${merchantId}/orders?limit=200`, { token: staff });
    expect(max.body.orders).toHaveLength(51);
  });

  it("400 for a bad status, limit, cursor or merchant id", async () => {
    const { merchantId, staff } = await setupMerchant();
    const base = `/api/merchants/${merchantId}/orders`;
    expectZod400(await api("GET", `${base}?status=open`, { token: staff }), ["status"]);
    expectZod400(await api("GET", `${base}?limit=0`, { token: staff }), ["limit"]);
    expectZod400(await api("GET", `${base}?limit=201`, { token: staff }), ["limit"]);
    expectZod400(await api("GET", `${base}?limit=ten`, { token: staff }), ["limit"]);
    expectZod400(await api("GET", `${base}?limit=2.5`, { token: staff }), ["limit"]);
    expectError(await api("GET", `${base}?status=all&cursor=garbage`, { token: staff }), 400, "BAD_REQUEST");
    expectError(await api("GET", `${base}?status=active&cursor=garbage`, { token: staff }), 400, "BAD_REQUEST");
    expectZod400(await api("GET", `/api/merchants/bad.id/orders`, { token: await tokens.dispatch() }), ["merchantId"]);
  });

  it("404 for an unknown merchant", async () => {
    expectError(
      await api("GET", `/api/merchants/${uniqueId("m")}/orders`, { token: await tokens.dispatch() }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("merchant actions", () => {
  it("accept: 200 with prepMinutes given or the merchant default", async () => {
    const { merchantId, staff } = await setupMerchant({ defaultPrepMinutes: 22 });
    const a = await placeOrder(merchantId);
    const res = await api<Order>("POST", actionPath(merchantId, a.id, "accept"), {
      token: staff,
      body: { prepMinutes: 12 },
    });
    expectJson(res, 200);
    expect(OrderSchema.strict().safeParse(res.body).success).toBe(true);
    expect(res.body).toMatchObject({ id: a.id, status: "ACCEPTED", version: 2, prepMinutes: 12 });
    expect(Date.parse(res.body.readyBy!) - Date.parse(res.body.acceptedAt!)).toBe(12 * 60_000);

    const b = await placeOrder(merchantId);
    const noBody = await api<Order>("POST", actionPath(merchantId, b.id, "accept"), { token: staff });
    expect(noBody.status).toBe(200);
    expect(noBody.body.prepMinutes).toBe(22);
  });

  it("accept: a JSON body sent without a JSON Content-Type is refused, not read as {}", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const res = await api<Order>("POST", actionPath(merchantId, order.id, "accept"), {
      token: staff,
      body: JSON.stringify({ prepMinutes: 40 }),
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
    });
    expectError(res, 400, "BAD_REQUEST");
    const after = await api<Order>("GET", `/api/orders/${order.id}`, { token: staff });
    expect(after.body.status).toBe("PLACED");
  });

  it("reject, preparing, ready, prep-time: 200 with the change", async () => {
    const { merchantId, staff } = await setupMerchant();
    const r = await placeOrder(merchantId);
    const rejected = await api<Order>("POST", actionPath(merchantId, r.id, "reject"), {
      token: staff,
      body: { reason: "  out of dough " },
    });
    expectJson(rejected, 200);
    expect(rejected.body).toMatchObject({ status: "REJECTED", rejectReason: "out of dough", version: 2 });
    expect(rejected.body.rejectedAt).toBeDefined();

    const o = await orderIn(merchantId, "ACCEPTED");
    const prep = await api<Order>("POST", actionPath(merchantId, o.id, "prep-time"), {
      token: staff,
      body: { prepMinutes: 30 },
    });
    expectJson(prep, 200);
    expect(prep.body).toMatchObject({ status: "ACCEPTED", prepMinutes: 30, version: 3 });
    expect(Date.parse(prep.body.readyBy!) - Date.parse(prep.body.acceptedAt!)).toBe(30 * 60_000);

    const preparing = await api<Order>("POST", actionPath(merchantId, o.id, "preparing"), { token: staff });
    expectJson(preparing, 200);
    expect(preparing.body).toMatchObject({ status: "PREPARING", version: 4 });
    expect(preparing.body.preparingAt).toBeDefined();
    const prep2 = await api<Order>("POST", actionPath(merchantId, o.id, "prep-time"), {
      token: staff,
      body: { prepMinutes: 5 },
    });
    expect(prep2.body).toMatchObject({ status: "PREPARING", prepMinutes: 5, version: 5 });

    const ready = await api<Order>("POST", actionPath(merchantId, o.id, "ready"), { token: staff });
    expectJson(ready, 200);
    expect(ready.body).toMatchObject({ status: "READY", version: 6 });
    expect(ready.body.readyAt).toBeDefined();

    // ACCEPTED → READY directly is allowed too.
    const direct = await orderIn(merchantId, "ACCEPTED");
    expect((await api("POST", actionPath(merchantId, direct.id, "ready"), { token: staff })).body.status).toBe("READY");
  });

  it("400 with zod details for bad bodies and ids", async () => {
    const { merchantId, staff } = await setupMerchant();
    const o = await placeOrder(merchantId);
    const accepted = await orderIn(merchantId, "ACCEPTED");
    for (const prepMinutes of [0, 181, 2.5, "10"]) {
      expectZod400(await api("POST", actionPath(merchantId, o.id, "accept"), { token: staff, body: { prepMinutes } }), [
        "prepMinutes",
      ]);
      expectZod400(
        await api("POST", actionPath(merchantId, accepted.id, "prep-time"), { token: staff, body: { prepMinutes } }),
        ["prepMinutes"],
      );
    }
    expectZod400(await api("POST", actionPath(merchantId, accepted.id, "prep-time"), { token: staff, body: {} }), [
      "prepMinutes",
    ]);
    expectZod400(await api("POST", actionPath(merchantId, o.id, "reject"), { token: staff, body: {} }), ["reason"]);
    expectZod400(await api("POST", actionPath(merchantId, o.id, "reject"), { token: staff, body: { reason: "   " } }), [
      "reason",
    ]);
    expectZod400(
      await api("POST", actionPath(merchantId, o.id, "reject"), { token: staff, body: { reason: "x".repeat(501) } }),
      ["reason"],
    );
    for (const action of ["accept", "reject", "preparing", "ready", "prep-time"]) {
      expectZod400(
        await api("POST", actionPath(merchantId, "not-an-order-id", action), {
          token: staff,
          body: { reason: "x", prepMinutes: 5 },
        }),
        ["orderId"],
      );
    }
    // Nothing moved.
    expect((await api("GET", `/api/orders/${o.id}`, { token: staff })).body.version).toBe(1);
    expect((await api("GET", `/api/orders/${accepted.id}`, { token: staff })).body.version).toBe(2);
  });

  it("404 for an order that does not exist", async () => {
    const { merchantId, staff } = await setupMerchant();
    const missing = `${merchantId}.doesnotexist`;
    for (const [action, body] of [
      ["accept", {}],
      ["reject", { reason: "x" }],
      ["preparing", undefined],
      ["ready", undefined],
      ["prep-time", { prepMinutes: 5 }],
    ] as const) {
      expectError(await api("POST", actionPath(merchantId, missing, action), { token: staff, body }), 404, "NOT_FOUND");
    }
  });

  it("409 INVALID_TRANSITION for each action in a status that does not allow it", async () => {
    const { merchantId, staff } = await setupMerchant();
    const placed = await orderIn(merchantId, "PLACED");
    const accepted = await orderIn(merchantId, "ACCEPTED");
    const ready = await orderIn(merchantId, "READY");
    const rejected = await orderIn(merchantId, "REJECTED");
    const cases: [Order, string, unknown][] = [
      [accepted, "accept", {}],
      [rejected, "accept", {}],
      [accepted, "reject", { reason: "late" }],
      [placed, "preparing", undefined],
      [ready, "preparing", undefined],
      [placed, "ready", undefined],
      [ready, "ready", undefined],
      [placed, "prep-time", { prepMinutes: 5 }],
      [ready, "prep-time", { prepMinutes: 5 }],
    ];
    const before = await merchantLog(merchantId);
    for (const [order, action, body] of cases) {
      const res = await api("POST", actionPath(merchantId, order.id, action), { token: staff, body });
      expectError(res, 409, "INVALID_TRANSITION");
    }
    expect(await merchantLog(merchantId)).toEqual(before);
  });
});
