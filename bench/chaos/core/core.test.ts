/**
 * The chaos core's checks find what they claim to: a run that reports lost 0, duplicated 0,
 * diverged 0 means something only if a lost, duplicated or diverged event would have been counted.
 *
 *   npx node --test bench/chaos/core/core.test.ts        (part of npm run test:bench)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Order } from "../../../schema/order.ts";
import {
  type AuditEvent,
  Checks,
  checkProjection,
  checkStream,
  checkTrail,
  type LedgerEntry,
  planAction,
  recordAnswer,
  seededRandom,
  StreamView,
} from "./index.ts";

const order = (id: string, version: number, status: Order["status"]): Order =>
  ({ id, version, status, customerId: "c1" }) as Order;
const created = (seq: number, o: Order) => ({ event: "ORDER_CREATED", seq, payload: { order: o } });
const snapshot = (seq: number) => ({ event: "SNAPSHOT", seq, payload: { epoch: "e1", orders: [] } });

describe("streams", () => {
  test("a gap is lost, a repeat is duplicated, another envelope diverged", () => {
    const view = new StreamView("merchant", "screen");
    for (const env of [snapshot(0), created(1, order("m.a", 1, "PLACED")), created(3, order("m.c", 1, "PLACED"))])
      view.take(env);
    view.take(created(3, order("m.c", 1, "PLACED")));
    const checks = new Checks();
    checkStream(checks, view, 3, (seq) => seq !== 1);
    assert.deepEqual(checks.tally, { lost: 1, duplicated: 1, diverged: 1 });
    assert.match(checks.failures().join("\n"), /never received seq 2/);
  });

  test("a clean stream passes", () => {
    const view = new StreamView("order", "tracker");
    view.take({ event: "SNAPSHOT", seq: 0, payload: { epoch: "e1", order: null } });
    view.take(created(1, order("m.a", 1, "PLACED")));
    const checks = new Checks();
    checkStream(checks, view, 1, () => true);
    assert.deepEqual(checks.failures(), []);
    assert.equal(view.order?.version, 1);
  });
});

describe("the audit trail against the ledger", () => {
  const entry = (key: string, answered: Order[], retries = 0): LedgerEntry => ({
    key,
    scope: "merchant:s1",
    merchantId: "m",
    kind: "accept",
    channel: "rest",
    rest: { method: "POST", path: "/", token: "t" },
    first: { ok: true, orders: answered },
    answers: 1,
    retries,
  });
  const ev = (e: string, o: Order, requestId?: string): AuditEvent => ({
    event: e,
    order: o,
    actor: { role: "merchant", id: "s1" },
    ...(requestId ? { requestId } : {}),
  });

  test("finds a lost, a duplicated and an invented change, an illegal move and an unanswered retry", () => {
    const placed = order("m.a", 1, "PLACED");
    const accepted = order("m.a", 2, "ACCEPTED");
    const delivered = order("m.a", 3, "DELIVERED");
    const lostOne = order("m.b", 1, "PLACED");
    const checks = new Checks();
    checkTrail(checks, {
      merchantId: "m",
      orders: new Map([["m.a", delivered]]),
      events: [ev("ORDER_CREATED", placed, "k1"), ev("MERCHANT_ACCEPTED", accepted, "k2"), ev("X", delivered, "k9")],
      changes: 3,
      entries: [entry("k1", [placed]), entry("k2", [accepted], 1), entry("k3", [lostOne])],
    });
    assert.equal(checks.tally.lost, 1); // k3 answered m.b v1, no event has it
    assert.equal(checks.tally.diverged, 1); // k9 is nobody's
    const text = checks.failures().join("\n");
    assert.match(text, /ACCEPTED → DELIVERED by merchant/);
    assert.match(text, /k2 retried but answered 1 time/);

    const twice = new Checks();
    const e1 = ev("ORDER_CREATED", placed, "k1");
    checkTrail(twice, {
      merchantId: "m",
      orders: new Map([["m.a", placed]]),
      events: [e1, e1],
      changes: 2,
      entries: [entry("k1", [placed])],
    });
    assert.equal(twice.tally.duplicated, 1);
  });

  test("a D1 row behind the room is diverged, a row nobody placed reported", () => {
    const o = { ...order("m.a", 2, "ACCEPTED"), totalCents: 100 } as Order;
    const row = { id: "m.a", version: 1, status: "PLACED", total_cents: 100, customer_id: "c1", driver_id: null };
    const checks = new Checks();
    checkProjection(checks, { orders: new Map([["m.a", o]]), d1Orders: [row, { ...row, id: "m.z" }] });
    assert.equal(checks.tally.diverged, 1);
    assert.match(checks.failures().join("\n"), /nobody placed: m.z/);
  });
});

describe("the ledger", () => {
  test("a retry answered differently is reported; the same answer is not", () => {
    const rest = { method: "POST", path: "/", token: "t" };
    const e: LedgerEntry = {
      key: "k",
      scope: "s",
      merchantId: "m",
      kind: "accept",
      channel: "rest",
      rest,
      answers: 0,
      retries: 0,
    };
    assert.equal(recordAnswer(e, { ok: true, orders: [order("m.a", 2, "ACCEPTED")] }), null);
    assert.equal(recordAnswer(e, { ok: true, orders: [order("m.a", 2, "ACCEPTED")] }), null);
    assert.match(recordAnswer(e, { ok: false, code: "CONFLICT" }) ?? "", /^k: first/);
    assert.equal(e.answers, 3);
  });

  test("a kitchen action is one REST call and one socket frame", async () => {
    const entry = await planAction({
      merchantId: "m",
      orderId: "m.a",
      order: order("m.a", 1, "PLACED"),
      kind: "accept",
      key: "k",
      useSocket: true,
      screen: "screen-0",
      staff: { sub: "screen-0", token: "t" },
      tokenFor: async () => "t",
      rng: seededRandom(1),
      bulkWith: () => [],
      drivers: 4,
    });
    assert.equal(entry.channel, "socket");
    assert.equal(entry.scope, "merchant:screen-0");
    assert.equal(entry.rest.path, "/api/merchants/m/orders/m.a/accept");
    assert.deepEqual(entry.frame, { action: "MERCHANT_ACCEPT", payload: { orderId: "m.a", prepMinutes: 12 } });
  });
});
