/**
 * The operators' view of one merchant room (CONTRACT.md, Additions v2, "Operations"):
 * `GET /api/merchants/:merchantId/ops` for dispatch and a platform — connected screens, each
 * receiver's backlog, parked changes, when the alarm fires next.
 */
import { describe, expect, it } from "vitest";
import { MerchantOpsResponseSchema } from "../../schema/index.ts";
import { expectError } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { flushOutbox, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api, uniqueId } from "./support/http.ts";
import { callers } from "./support/kitchen.ts";
import { openMerchantSocket, waitFor } from "./support/sockets.ts";

const ops = (merchantId: string, tok: string) => api("GET", `/api/merchants/${merchantId}/ops`, { token: tok });

describe("GET /api/merchants/:merchantId/ops", () => {
  it("dispatch and the platform read it (screens, outbox per receiver, parked, alarmAt); the merchant's own staff and everyone else get 403; an unknown merchant 404", async () => {
    const { merchantId, staff } = await setupMerchant();
    const who = await callers(merchantId);
    const kitchen = await openMerchantSocket(merchantId, staff);
    const watcher = await openMerchantSocket(merchantId, who.dispatch);
    await placeOrder(merchantId);
    await flushOutbox(merchantId);
    for (const name of ["dispatch", "platform"] as const) {
      const res = await ops(merchantId, who[name]);
      expect(res.status, name).toBe(200);
      const view = MerchantOpsResponseSchema.parse(res.body);
      // Kitchen screens only: the dispatch socket is a socket, not a screen.
      expect(view).toMatchObject({ screens: 1, sockets: 2, parked: [] });
      for (const receiver of Object.values(view.outbox)) expect(receiver.pending).toBe(0);
      expect(view.alarmAt === null || !Number.isNaN(Date.parse(view.alarmAt))).toBe(true);
    }
    for (const name of ["own", "otherMerchant", "customer", "driver"] as const) {
      expectError(await ops(merchantId, who[name]), 403, "FORBIDDEN", name);
    }
    expectError(await ops(uniqueId("ghost"), await tokens.dispatch()), 404, "NOT_FOUND");
    kitchen.close();
    await kitchen.waitClosed();
    await waitFor(async () => (await ops(merchantId, who.dispatch)).body.screens === 0, 5_000, "screen gone");
    watcher.close();
  });
});
