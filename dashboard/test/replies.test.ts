/** What a cook is told about a request's outcome: a pure function of the outcome and the board. */
import { describe, expect, it } from "vitest";
import type { BulkItemResult } from "../../schema/index.ts";
import type { CommandRequest } from "../src/kds/commands.ts";
import { reportOutcome, reportStray } from "../src/kds/replies.ts";
import type { Reply } from "../src/kds/requests.ts";
import { boardOf, order, ticket } from "./kds-fixtures.ts";

const at = "2030-01-01T12:00:00.000Z";
const acceptA: CommandRequest = {
  command: { kind: "accept", orderId: "m1.abcd", prepMinutes: 15 },
  frame: { action: "MERCHANT_ACCEPT", payload: { orderId: "m1.abcd", prepMinutes: 15 } },
  orderIds: ["m1.abcd"],
  pending: "Accepting…",
};
const bulkAccept = (...orderIds: string[]): CommandRequest => ({
  command: { kind: "bulk-accept" },
  frame: { action: "BULK_ACCEPT", payload: { orderIds } },
  orderIds,
  pending: "Accepting…",
});
const refused = (code: "INVALID_TRANSITION" | "NOT_FOUND" | "FORBIDDEN", message = "refused"): Reply => ({
  event: "ERROR",
  at,
  requestId: "r1",
  payload: { code, message },
});

describe("one order's command", () => {
  it("an ACK says nothing: the ticket moving is the answer", () => {
    const reply: Reply = { event: "ACK", at, requestId: "r1", payload: { order: order("abcd") } };
    expect(reportOutcome({ request: acceptA, reply }, boardOf())).toEqual({ notice: null, deselect: [] });
  });

  it("a refusal says why in kitchen words, with the contract's code", () => {
    const board = boardOf(ticket("abcd", "CANCELLED", "new", { cancelReason: "Wrong address" }));
    const { notice } = reportOutcome({ request: acceptA, reply: refused("INVALID_TRANSITION") }, board);
    expect(notice).toEqual({
      tone: "error",
      title: "#ABCD: could not accept",
      lines: [{ ok: false, orderId: "m1.abcd", text: "it was cancelled (“Wrong address”) [INVALID_TRANSITION]" }],
      ttlMs: 15_000,
    });
    const other = reportOutcome({ request: acceptA, reply: refused("FORBIDDEN", "not yours") }, boardOf());
    expect(other.notice?.lines[0]?.text).toBe("not yours [FORBIDDEN]");
    const missing = reportOutcome({ request: acceptA, reply: refused("NOT_FOUND") }, boardOf());
    expect(missing.notice?.lines[0]?.text).toBe("no such order [NOT_FOUND]");
  });

  it("no answer: the outcome is unknown, and the cook is told to check the ticket", () => {
    const { notice } = reportOutcome({ request: acceptA, unanswered: "timeout" }, boardOf());
    expect(notice).toEqual({
      tone: "warn",
      title: "#ABCD: accept — outcome unknown",
      lines: [{ ok: false, orderId: "m1.abcd", text: "no answer from the kitchen server — check the ticket" }],
      ttlMs: 15_000,
    });
    const lost = reportOutcome({ request: acceptA, unanswered: "link-lost" }, boardOf());
    expect(lost.notice?.lines[0]?.text).toBe("connection lost before the kitchen server answered — check the ticket");
  });
});

describe("a bulk command", () => {
  const ok = (id: string, prepMinutes?: number): BulkItemResult => ({
    orderId: `m1.${id}`,
    ok: true,
    order: order(id, { status: "ACCEPTED", ...(prepMinutes ? { prepMinutes } : {}) }),
  });

  it("reports every order, why the failed one did not move, and is done with the selection", () => {
    const board = boardOf(ticket("c2", "CANCELLED", "new", { cancelReason: "Changed my mind" }));
    const results: BulkItemResult[] = [
      ok("c1", 15),
      { orderId: "m1.c2", ok: false, error: { code: "INVALID_TRANSITION", message: "no" } },
      ok("c3"),
    ];
    const reply: Reply = { event: "BULK_RESULT", at, requestId: "r1", payload: { results } };
    const report = reportOutcome({ request: bulkAccept("m1.c1", "m1.c2", "m1.c3"), reply }, board);
    expect(report.deselect).toEqual(["m1.c1", "m1.c2", "m1.c3"]);
    expect(report.notice).toEqual({
      tone: "warn",
      title: "Accept selected: 2 of 3 accepted, 1 failed",
      lines: [
        { ok: true, orderId: "m1.c1", text: "#C1 accepted · 15 min" },
        { ok: false, orderId: "m1.c2", text: "#C2 failed — it was cancelled (“Changed my mind”) [INVALID_TRANSITION]" },
        { ok: true, orderId: "m1.c3", text: "#C3 accepted" },
      ],
      ttlMs: 60_000,
    });
  });

  it("all moved: a short, calm notice", () => {
    const reply: Reply = { event: "BULK_RESULT", at, requestId: "r1", payload: { results: [ok("c1")] } };
    const { notice } = reportOutcome({ request: bulkAccept("m1.c1"), reply }, boardOf());
    expect(notice).toMatchObject({ tone: "ok", title: "Accept selected: 1 of 1 accepted", ttlMs: 8_000 });
  });

  it("refused as a whole, or unanswered (then the selection stays for another try)", () => {
    const whole = reportOutcome({ request: bulkAccept("m1.c1"), reply: refused("FORBIDDEN", "not yours") }, boardOf());
    expect(whole).toEqual({
      notice: {
        tone: "error",
        title: "Accept selected: refused",
        lines: [{ ok: false, text: "not yours (FORBIDDEN)" }],
        ttlMs: 20_000,
      },
      deselect: ["m1.c1"],
    });
    const lost = reportOutcome({ request: bulkAccept("m1.c1"), unanswered: "link-lost" }, boardOf());
    expect(lost.deselect).toEqual([]);
    expect(lost.notice).toMatchObject({ tone: "warn", title: "Accept selected: outcome unknown", ttlMs: 20_000 });
  });
});

describe("replies to no request of ours", () => {
  it("an ERROR is shown; anything else is not", () => {
    expect(reportStray({ ...refused("FORBIDDEN", "slow down"), requestId: undefined }).notice).toEqual({
      tone: "error",
      title: "Kitchen server: slow down",
      lines: [],
      ttlMs: 10_000,
    });
    expect(reportStray({ event: "ACK", at, payload: { order: order("a") } }).notice).toBeNull();
  });
});
