/**
 * The tracking page's reducer and words for contract v2, pure: every new event of the order room
 * is applied (adjusted, item done, recalled, fired), one it does not know only advances the seq,
 * and what the kitchen changed is said with the total before and now.
 */
import { describe, expect, it } from "vitest";
import type { Order } from "../../schema/index.ts";
import { etaText } from "../src/track-view.ts";
import { initialTracking, orderChanges, trackingEvent, trackingSnapshot } from "../src/tracking-state.ts";
import { iso, order, T0 } from "./kds-fixtures.ts";

const accepted: Order = order("a", {
  status: "ACCEPTED",
  version: 2,
  items: [
    { name: "Pad thai", quantity: 2, unitPriceCents: 1250 },
    { name: "Cola", quantity: 2, unitPriceCents: 300 },
    { name: "Spring rolls", quantity: 1, unitPriceCents: 500 },
  ],
  totalCents: 3600,
  prepMinutes: 15,
  acceptedAt: iso(T0),
  readyBy: iso(T0 + 900_000),
});

describe("tracking, v2 events", () => {
  const start = () => trackingSnapshot(initialTracking(accepted), { seq: 2, epoch: "e", order: accepted }, T0);

  it("applies ORDER_ADJUSTED, ITEM_DONE, MERCHANT_RECALLED and ORDER_FIRED like any change", () => {
    let s = start();
    const adjusted: Order = {
      ...accepted,
      version: 3,
      items: [accepted.items[0]!, { ...accepted.items[1]!, quantity: 1 }, { ...accepted.items[2]!, quantity: 0 }],
      totalCents: 2800,
      adjustments: [
        {
          at: iso(T0 + 60_000),
          reason: "Item ran out",
          changes: [
            { index: 1, from: 2, to: 1 },
            { index: 2, from: 1, to: 0 },
          ],
        },
      ],
    };
    let r = trackingEvent(s, { seq: 3, event: "ORDER_ADJUSTED", order: adjusted, merchantAction: "ADJUST_ITEMS" }, T0);
    expect(r.effects).toEqual([{ kind: "changed", event: "ORDER_ADJUSTED" }]);
    s = r.state;
    expect(s.order?.totalCents).toBe(2800);
    r = trackingEvent(s, { seq: 4, event: "ITEM_DONE", order: { ...adjusted, version: 4 } }, T0);
    expect(r.state.cursor?.since).toBe(4);
    const recalled: Order = { ...adjusted, version: 5, status: "PREPARING", recalledAt: iso(T0) };
    r = trackingEvent(r.state, { seq: 5, event: "MERCHANT_RECALLED", order: recalled, merchantAction: "RECALL" }, T0);
    expect(r.state.order?.status).toBe("PREPARING");
    expect(r.state.stats.applied).toBe(3);
  });

  it("an event it does not know only advances the seq", () => {
    const s = start();
    const r = trackingEvent(s, { seq: 3, event: "ORDER_TELEPORTED" }, T0);
    expect(r.state.cursor?.since).toBe(3);
    expect(r.state.order).toBe(s.order);
    expect(r.state.lastEvent).toBe(s.lastEvent);
    expect(r.effects).toEqual([]);
    // …and the next one is no gap.
    expect(
      trackingEvent(r.state, { seq: 4, event: "ITEM_DONE", order: { ...accepted, version: 3 } }, T0).effects,
    ).toEqual([{ kind: "changed", event: "ITEM_DONE" }]);
  });

  it("says what changed: each item, why, and the total before", () => {
    const changed: Order = {
      ...accepted,
      items: [accepted.items[0]!, { ...accepted.items[1]!, quantity: 1 }, { ...accepted.items[2]!, quantity: 0 }],
      totalCents: 2800,
      adjustments: [
        { at: iso(T0), reason: "Item ran out", changes: [{ index: 2, from: 1, to: 0 }] },
        { at: iso(T0 + 1000), reason: "Customer asked", changes: [{ index: 1, from: 2, to: 1 }] },
      ],
    };
    expect(orderChanges(changed)).toEqual({
      lines: [
        { name: "Spring rolls", from: 1, to: 0, reason: "Item ran out", at: iso(T0) },
        { name: "Cola", from: 2, to: 1, reason: "Customer asked", at: iso(T0 + 1000) },
      ],
      totalBefore: 3600,
    });
    expect(orderChanges(accepted)).toBeNull();
  });

  it("a scheduled order, accepted and not yet fired, says when the kitchen starts it", () => {
    const scheduled: Order = {
      ...accepted,
      requestedFor: iso(T0 + 86_400_000),
      fireAt: iso(T0 + 85_500_000),
      readyBy: iso(T0 + 86_400_000),
    };
    expect(etaText(scheduled, T0)).toMatch(
      /^Confirmed\. The kitchen starts it at \d\d:\d\d, to be ready for \d\d:\d\d\.$/,
    );
    expect(etaText({ ...scheduled, firedAt: iso(T0) }, T0)).toMatch(/^Ready around/);
  });
});
