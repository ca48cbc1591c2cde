/**
 * The request tracker, without a DOM or a socket: requests in flight by requestId, replies
 * matched to them, and the ones that never get an answer (not sent, timed out, connection lost).
 */
import { describe, expect, it } from "vitest";
import { type Reply, RequestTracker } from "../src/kds/requests.ts";
import { order } from "./kds-fixtures.ts";

interface Req {
  orderIds: string[];
  pending: string;
  name: string;
}

const T = 1_000_000;
const req = (name: string, ...orderIds: string[]): Req => ({ name, orderIds, pending: `${name}…` });
const ack = (requestId?: string): Reply => ({
  event: "ACK",
  at: "2030-01-01T12:00:00.000Z",
  ...(requestId ? { requestId } : {}),
  payload: { order: order("a") },
});
const error = (requestId: string): Reply => ({
  event: "ERROR",
  at: "2030-01-01T12:00:00.000Z",
  requestId,
  payload: { code: "INVALID_TRANSITION", message: "no" },
});

function tracker(timeoutMs = 10_000): RequestTracker<Req> {
  let n = 0;
  return new RequestTracker<Req>(timeoutMs, () => `r${++n}`);
}

describe("request tracker", () => {
  it("gives each request its own id and shows it on its tickets until answered", () => {
    const t = tracker();
    expect(t.start(req("Accepting", "m1.a"), T)).toBe("r1");
    expect(t.start(req("Marking ready", "m1.b", "m1.c"), T)).toBe("r2");
    expect(t.isPending("m1.a")).toBe(true);
    expect(t.isPending("m1.z")).toBe(false);
    expect([...t.pendingLabels()]).toEqual([
      ["m1.a", "Accepting…"],
      ["m1.b", "Marking ready…"],
      ["m1.c", "Marking ready…"],
    ]);
  });

  it("a reply settles the request with its id, once", () => {
    const t = tracker();
    t.start(req("accept", "m1.a"), T);
    const id = t.start(req("start", "m1.b"), T);
    expect(t.settle(error(id))).toEqual({ request: req("start", "m1.b"), reply: error(id) });
    expect(t.settle(error(id))).toBeUndefined();
    expect(t.isPending("m1.b")).toBe(false);
    expect(t.isPending("m1.a")).toBe(true);
  });

  it("a reply to no request of ours (another screen's, or none named) settles nothing", () => {
    const t = tracker();
    t.start(req("accept", "m1.a"), T);
    expect(t.settle(ack("someone-else"))).toBeUndefined();
    expect(t.settle(ack())).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it("a request unanswered at its deadline times out; earlier ones wait", () => {
    const t = tracker(10_000);
    t.start(req("accept", "m1.a"), T);
    t.start(req("start", "m1.b"), T + 5_000);
    expect(t.expire(T + 9_999)).toEqual([]);
    expect(t.expire(T + 10_000)).toEqual([{ request: req("accept", "m1.a"), unanswered: "timeout" }]);
    expect(t.expire(T + 15_000)).toEqual([{ request: req("start", "m1.b"), unanswered: "timeout" }]);
    expect(t.size).toBe(0);
  });

  it("the connection going down leaves every request in flight without an answer", () => {
    const t = tracker();
    t.start(req("accept", "m1.a"), T);
    t.start(req("ready", "m1.b"), T);
    expect(t.abandonAll()).toEqual([
      { request: req("accept", "m1.a"), unanswered: "link-lost" },
      { request: req("ready", "m1.b"), unanswered: "link-lost" },
    ]);
    expect(t.pendingLabels().size).toBe(0);
    expect(t.expire(T + 60_000)).toEqual([]);
  });

  it("a request the socket refused is over at once", () => {
    const t = tracker();
    const id = t.start(req("accept", "m1.a"), T);
    expect(t.notSent(id)).toEqual({ request: req("accept", "m1.a"), unanswered: "not-sent" });
    expect(t.isPending("m1.a")).toBe(false);
  });

  it("a ticket shows the words of its latest request", () => {
    const t = tracker();
    t.start(req("Accepting", "m1.a", "m1.b"), T);
    t.start(req("Updating prep time", "m1.b"), T);
    expect(t.pendingLabels().get("m1.b")).toBe("Updating prep time…");
  });
});
