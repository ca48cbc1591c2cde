/** The kitchen is told, quietly, when customers' live views fall behind and when they catch up. */
import { describe, expect, it } from "vitest";
import { initialBoard } from "../src/kds/board.ts";
import { applyRoomEvent, parseFrame } from "../src/kds/frames.ts";

const at = new Date(0).toISOString();

describe("DELIVERY_STATUS on the board", () => {
  it("is a notice, not a stream event: it sets the board's delivery state and leaves seq alone", () => {
    const board = initialBoard();
    const frame = parseFrame({
      event: "DELIVERY_STATUS",
      at,
      payload: { customersBehind: true, pending: 12, oldestPendingAgeMs: 9000 },
    });
    expect(frame && "event" in frame).toBe(true);
    const next = applyRoomEvent(board, (frame as { event: Parameters<typeof applyRoomEvent>[1] }).event, 0);
    expect(next.state.delivery).toEqual({ customersBehind: true, pending: 12, oldestPendingAgeMs: 9000 });
    expect(next.state.cursor).toBe(board.cursor);
    expect(next.state.stats).toEqual(board.stats);
    expect(next.synced).toBe(false);
  });

  it("comes with the SNAPSHOT too, so a screen that connects while customers are behind knows", () => {
    const frame = parseFrame({
      event: "SNAPSHOT",
      seq: 3,
      at,
      payload: { epoch: "e", orders: [], delivery: { customersBehind: true, pending: 2, oldestPendingAgeMs: 6000 } },
    });
    const next = applyRoomEvent(initialBoard(), (frame as { event: Parameters<typeof applyRoomEvent>[1] }).event, 0);
    expect(next.state.delivery?.customersBehind).toBe(true);
    expect(next.state.cursor).toEqual({ epoch: "e", since: 3 });
  });
});
