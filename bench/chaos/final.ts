/**
 * The end of a chaos run: wait for the last deadlines and for delivery to converge, read the truth
 * back (the merchant rooms through the API, every order room through its socket, D1 through the
 * API and then, the server stopped, row by row), and hand it to the chaos core's checks.
 */
import path from "node:path";
import type { Order } from "../../schema/order.ts";
import { sleep } from "../lib/common.ts";
import { REPO, runWrangler } from "../lib/processes.ts";
import { d1Bindings } from "../lib/product.ts";
import {
  type AuditEvent,
  boardDiff,
  canonical,
  checkOrder,
  checkProjection,
  checkScreensAgree,
  checkStream,
  checkTrail,
  checkViolations,
  type D1OrderRow,
} from "./core/index.ts";
import type { Harness, Merchant } from "./harness.ts";
import { Watcher } from "./stream.ts";

type Page = { orders: Order[]; seq: number; nextCursor?: string };

async function waitUntil(h: Harness, what: string, pred: () => Promise<boolean>, timeoutMs: number) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await pred()) return true;
    await sleep(1000);
  }
  h.log(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
  return false;
}

/** Every order of the run as its merchant room holds it now. */
async function truthOf(h: Harness, token: string): Promise<Map<string, Order>> {
  const orders = new Map<string, Order>();
  for (const id of h.world.flatMap((m) => m.orders)) {
    const res = await h.httpSure("GET", `/api/orders/${id}`, { token });
    if (res.status === 200) orders.set(id, res.body as Order);
    else h.checks.fail("every order placed exists in its room", `${id}: ${res.status}`);
  }
  return orders;
}

/** All pages of a merchant's live board; null if its seq moved while paging. */
async function boardOf(h: Harness, m: Merchant, token: string) {
  const orders: Order[] = [];
  let cursor: string | undefined;
  let seq: number | null = null;
  do {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const res = await h.httpSure("GET", `/api/merchants/${m.id}/orders?status=active&limit=200${after}`, { token });
    const page = res.body as Page;
    orders.push(...page.orders);
    seq ??= page.seq;
    if (page.seq !== seq) return null; // moved while paging: try again
    cursor = page.nextCursor;
  } while (cursor);
  return { orders, seq: seq ?? 0 };
}

export async function finalChecks(h: Harness, stateDir: string, logDir: string): Promise<void> {
  const { checks, counts } = h;
  const dispatch = await h.tokenFor("dispatch", "chaos-checker");

  // Deadlines: the last order placed needs its 60 s, then its alarm; nothing may stay PLACED.
  const expireBy = h.lastPlacedAt + h.cfg.acceptWindowSeconds * 1000;
  const wait = Math.max(0, Math.round((expireBy - Date.now()) / 1000));
  h.log(`waiting for the last deadlines (${wait} s), then for delivery`);
  await sleep(Math.max(0, expireBy - Date.now()));
  for (const w of h.watchers()) await w.resumeIfClosed().catch(() => undefined);
  const screens = h.world.flatMap((m) => m.screens);
  await waitUntil(
    h,
    "no order to be PLACED any more on any screen",
    async () => {
      for (const s of screens) {
        await s.until(() => true, 1000);
        if ([...s.board.values()].some((o) => o.status === "PLACED")) return false;
      }
      return true;
    },
    120_000,
  );
  let truth = await truthOf(h, dispatch);
  for (const id of h.world.flatMap((m) => [...m.doomed])) {
    const o = truth.get(id);
    if (o?.status !== "EXPIRED" || !o.expiredAt) checks.fail("deadlines", `${id} is ${o?.status} v${o?.version}`);
    else if (Date.parse(o.expiredAt) < Date.parse(o.acceptBy))
      checks.fail("deadlines", `${id} expired at ${o.expiredAt}, before acceptBy ${o.acceptBy}`);
    else counts.expiryLateMaxMs = Math.max(counts.expiryLateMaxMs, Date.parse(o.expiredAt) - Date.parse(o.acceptBy));
  }
  for (const o of truth.values())
    if (o.status === "PLACED") checks.fail("deadlines", `${o.id} still PLACED after its deadline ${o.acceptBy}`);
  counts.expired = [...truth.values()].filter((o) => o.status === "EXPIRED").length;

  // Convergence: the outbox delivers on its own (alarms and backoff, ≤ 30 s): nothing pending for
  // any receiver (order rooms, D1) in the room's ops view, every client at the room's position.
  const boards = new Map<string, { orders: Order[]; seq: number }>();
  await waitUntil(
    h,
    "screens, trackers and D1 to catch up",
    async () => {
      for (const m of h.world) {
        const board = await boardOf(h, m, dispatch);
        if (!board) return false;
        boards.set(m.id, board);
        const ops = await h.httpSure("GET", `/api/merchants/${m.id}/ops`, { token: dispatch });
        const outbox = (ops.body as { outbox?: Record<string, { pending: number }> }).outbox ?? {};
        if (ops.status !== 200 || Object.values(outbox).some((r) => r.pending > 0)) return false;
      }
      for (const m of h.world) {
        const seq = boards.get(m.id)?.seq ?? 0;
        for (const s of m.screens) if (!(await s.until((w) => (w.lastSeq ?? -1) >= seq, 5000))) return false;
        for (const t of m.trackers) {
          const want = truth.get(t.path.split("/").pop() ?? "")?.version ?? 0;
          if (!(await t.until((w) => (w.order?.version ?? 0) >= want, 5000))) return false;
        }
      }
      return true;
    },
    150_000,
  );
  // Truth again, now that all is quiet.
  truth = await truthOf(h, dispatch);

  for (const m of h.world) {
    const board = boards.get(m.id) ?? { orders: [], seq: 0 };
    counts.events += board.seq;
    // The room's audit trail, per order, against the ledger.
    const events: AuditEvent[] = [];
    for (const id of m.orders) {
      const res = await h.httpSure("GET", `/api/orders/${id}/events`, { token: dispatch });
      events.push(...(res.body as { events: AuditEvent[] }).events);
    }
    const orders = new Map(m.orders.map((id) => [id, truth.get(id)!]));
    const entries = [...h.ledger.values()].filter((e) => e.merchantId === m.id);
    // (No merchant-level events: auto-pause is off for its merchants and nobody sets availability.)
    checkTrail(checks, { merchantId: m.id, orders, events, changes: board.seq, entries });

    // Screens: exactly-once streams from their first snapshot, equal to each other and the trails.
    const byOrderVersion = new Map(events.map((e) => [`${e.order.id}|${e.order.version}`, e]));
    const sameAsTrail = (
      _seq: number,
      env: { event: string; requestId?: string; payload: Record<string, unknown> },
    ) => {
      const got = env.payload as { order: Order; actor: unknown };
      const e = byOrderVersion.get(`${got.order.id}|${got.order.version}`);
      return (
        e !== undefined &&
        e.event === env.event &&
        e.requestId === env.requestId &&
        canonical(e.order) === canonical(got.order) &&
        canonical(e.actor) === canonical(got.actor)
      );
    };
    for (const s of m.screens) {
      s.drain();
      checkStream(checks, s, board.seq, sameAsTrail);
      for (const p of boardDiff(s.name, s.board, board.orders)) checks.fail("views", p);
    }
    checkScreensAgree(checks, m.id, m.screens);

    // Trackers: gap-free order-room streams ending at the room's version.
    for (const t of m.trackers) {
      t.drain();
      checkViolations(checks, "trackers", t);
      checkOrder(checks, "trackers", t.name, t.order, truth.get(t.path.split("/").pop() ?? ""));
    }
  }
  for (const w of h.watchers()) await w.drop().catch(() => undefined);

  await readOrderRooms(h, truth, dispatch);

  // D1 itself, every history row of every shard, once the server is stopped (wrangler d1 execute
  // on the same files).
  await h.server.stop();
  h.log("server stopped; reading D1 directly");
  const lean = "SELECT id, version, status, total_cents, customer_id, driver_id FROM orders";
  const ours = (id: string) => h.world.some((m) => id.startsWith(`${m.id}.`));
  const d1Orders: D1OrderRow[] = [];
  for (const shard of d1Bindings(REPO)) {
    const args = ["d1", "execute", shard, "--local", "--persist-to", stateDir, "--json", "--command", lean];
    const out = await runWrangler(args, { logFile: path.join(logDir, "d1.log") });
    d1Orders.push(...((JSON.parse(out) as { results: D1OrderRow[] }[])[0]?.results ?? []).filter((r) => ours(r.id)));
  }
  checkProjection(checks, { orders: truth, d1Orders });

  if (counts.notJson > 0) for (const n of h.notes) checks.fail("json", n);
}

/** Every order room, read as a fresh tracking page would (its SNAPSHOT). */
async function readOrderRooms(h: Harness, truth: Map<string, Order>, token: string): Promise<void> {
  h.log(`reading all ${truth.size} order rooms`);
  const ids = [...truth.keys()];
  let next = 0;
  const reader = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const w = new Watcher({
        kind: "order",
        base: h.server.base,
        path: `/ws/order/${id}`,
        token,
        name: `order room ${id}`,
      });
      let ok = false;
      for (let i = 0; i < 5 && !ok; i++)
        ok = await w.connect(false).then(
          () => true,
          () => false,
        );
      if (!ok) h.checks.fail("orderRooms", `${id}: could not open its order room`);
      else checkOrder(h.checks, "orderRooms", `order room ${id}`, w.order, truth.get(id));
      await w.drop().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
}
