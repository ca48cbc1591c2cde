/**
 * Operators can see inside: one structured JSON line per operation (merchant, order, operation,
 * outcome, ms, via) and per delivery failure; a token never appears in any line, the socket's
 * `?token=` included.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { logLine } from "../log.ts";
import { faultyTargets, noFaults } from "../rooms/delivery/faulty-targets.ts";
import { tokens } from "./support/credentials.ts";
import { merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { inMerchantRoom } from "./support/room-seams.ts";
import { act, openMerchantSocket } from "./support/sockets.ts";

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
  }
});

afterEach(() => vi.restoreAllMocks());

const parsed = () =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe("structured logs", () => {
  it("one line per operation, REST and socket alike, with its merchant, order, outcome and path", async () => {
    const { merchantId, staff } = await setupMerchant();
    const order = await placeOrder(merchantId);
    const screen = await openMerchantSocket(merchantId, staff);
    await act(screen, "MERCHANT_ACCEPT", { orderId: order.id });
    const refused = await api("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, { token: staff });
    expect(refused.status).toBe(409);
    screen.close();

    const ops = parsed().filter((l) => l.msg === "operation" && l.merchant === merchantId);
    expect(ops.map((l) => [l.operation, l.order, l.outcome, l.via])).toEqual([
      ["PLACE_ORDER", order.id, "ok", "rest"],
      ["MERCHANT_ACCEPT", order.id, "ok", "socket"],
      ["MERCHANT_ACCEPT", order.id, "INVALID_TRANSITION", "rest"],
    ]);
    for (const l of ops) {
      expect(l).toMatchObject({ room: "merchant", level: expect.any(String), ms: expect.any(Number) });
    }
  });

  it("a delivery failure is a line naming the receiver, the merchant and the error", async () => {
    const { merchantId } = await setupMerchant();
    await inMerchantRoom(merchantId, (room) => {
      const faults = noFaults();
      faults.failNext.history = 1;
      room.deliveryTargets = faultyTargets(room.deliveryTargets, faults, Date.now);
    });
    await placeOrder(merchantId);
    await vi.waitFor(async () => {
      await merchantStub(merchantId).deliverPending();
      expect(parsed().some((l) => l.msg === "delivery failed" && l.merchant === merchantId)).toBe(true);
    });
    const line = parsed().find((l) => l.msg === "delivery failed" && l.merchant === merchantId);
    expect(line).toMatchObject({ level: "warn", receiver: "history", error: expect.stringMatching(/unreachable/) });
  });

  it("never writes a token, whether it came in a header or in the socket's ?token=", async () => {
    const { merchantId, staff } = await setupMerchant();
    const customer = await tokens.customer("cust-log");
    const order = await placeOrder(merchantId, customer);
    const screen = await openMerchantSocket(merchantId, staff, { token: staff });
    await act(screen, "MERCHANT_REJECT", { orderId: order.id, reason: `closed ${customer}` });
    // A request that fails inside the Worker logs its path, never its query.
    await api("GET", `/api/orders/${order.id}?token=${staff}`, { token: customer });
    screen.close();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(staff);
      expect(line).not.toContain(customer);
      expect(line).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    }
  });

  it("blanks anything shaped like a token, and fields named like credentials, as a last line of defence", () => {
    const line = logLine("info", "saw eyJhbGciOi.eyJzdWIiOi.sig here", {
      authorization: "Bearer x",
      note: "eyJa.eyJb.c",
    });
    expect(JSON.parse(line)).toEqual({
      level: "info",
      msg: "saw [jwt] here",
      authorization: "[redacted]",
      note: "[jwt]",
    });
  });
});
