/**
 * A load process. The orchestrator (bench/run.mjs) forks several of these and drives them over
 * IPC; they talk to the servers over 127.0.0.1 only. Every latency is measured here, by the
 * clients: send time and receive time on the same system-wide monotonic clock (common.ts now()).
 *
 * Roles a process can play (one or several per process):
 * - screens: N kitchen screens on one socket URL each; they track every stream event's seq
 *   (lost / duplicated / reordered) and, per requestId group, when each screen got it;
 * - placer: places orders through REST, one at a time or open-loop at a fixed rate;
 * - actor: a merchant socket that sends actions (bulk vs singles);
 * - self-contained scenarios that need only one process: relay, resume, echo, polling.
 */
import {
  ORDER_ITEMS,
  envelopesOf,
  httpClient,
  mapLimit,
  now,
  onceOpen,
  openSocket,
  round,
  sleep,
  summarize,
} from "../lib/common.ts";
import { cpuMsOf, waitQuiet } from "../lib/proc.ts";

let request = null; // HTTP client of the origin given to `init`
const clients = new Map();

/** A keep-alive client for another origin (the ws baseline), or the default one. */
function clientFor(origin) {
  if (!origin) return request;
  let c = clients.get(origin);
  if (!c) {
    c = httpClient(origin, { maxSockets: 256 });
    clients.set(origin, c);
  }
  return c;
}

// ---------------------------------------------------------------- a socket with a mailbox

/** Wraps a socket: every envelope is kept with its receive time until someone takes it. */
function mailboxSocket(url, { keepAll = false } = {}) {
  const ws = openSocket(url);
  const box = [];
  const waiters = [];
  const all = keepAll ? new Map() : null; // seq -> envelope JSON, for exact comparisons
  const state = { ws, box, all, frames: 0, closed: false };
  ws.on("message", (data) => {
    const t = now();
    state.frames++;
    const text = data.toString();
    if (text === "pong") {
      deliver({ e: { event: "pong" }, t });
      return;
    }
    for (const e of envelopesOf(text)) {
      if (all && typeof e.seq === "number" && e.event !== "SNAPSHOT" && e.event !== "REPLAY_DONE")
        all.set(e.seq, JSON.stringify(e));
      deliver({ e, t });
    }
  });
  ws.on("close", () => {
    state.closed = true;
  });
  function deliver(item) {
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i].pred(item.e)) {
        const [w] = waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(item);
        return;
      }
    }
    box.push(item);
    if (box.length > 20_000) box.splice(0, 10_000); // nobody waits for these any more
  }
  /** The first envelope (already received or still to come) matching `pred`, with its receive time. */
  state.next = (pred, timeoutMs = 10_000, what = "a frame") =>
    new Promise((resolve, reject) => {
      const i = box.findIndex((item) => pred(item.e));
      if (i >= 0) {
        resolve(box.splice(i, 1)[0]);
        return;
      }
      const w = {
        pred,
        resolve,
        timer: setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what} on ${url.replace(/token=[^&]+/, "token=…")}`,
            ),
          );
        }, timeoutMs),
      };
      waiters.push(w);
    });
  state.clear = () => box.splice(0);
  state.opened = onceOpen(ws);
  return state;
}

async function openMailbox(url, opts) {
  const s = mailboxSocket(url, opts);
  await s.opened;
  return s;
}

// ---------------------------------------------------------------- screens

const screens = { sockets: [], groups: new Map(), waiters: new Map(), badFrames: 0 };

function group(requestId) {
  const hash = requestId.indexOf("#");
  return hash >= 0 ? requestId.slice(0, hash) : requestId;
}

function trackSeq(rec, seq) {
  if (seq === rec.next) rec.next++;
  else if (seq > rec.next) {
    for (let s = rec.next; s < seq; s++) rec.missing.add(s);
    rec.next = seq + 1;
  } else if (rec.missing.has(seq)) {
    rec.missing.delete(seq);
    rec.reordered++;
  } else rec.duplicated++;
}

function onScreenFrame(rec, data) {
  const t = now();
  rec.frames++;
  let envs;
  try {
    envs = envelopesOf(data.toString());
  } catch {
    screens.badFrames++;
    return;
  }
  let touched = null;
  const n = screens.sockets.length;
  for (const e of envs) {
    if (e.event === "SNAPSHOT" || e.event === "REPLAY_DONE") {
      if (rec.next === undefined) {
        rec.snapshotSeq = e.seq;
        rec.next = e.seq + 1;
        rec.epoch = e.payload?.epoch;
        rec.ready();
      }
      continue;
    }
    if (typeof e.seq === "number" && rec.next !== undefined) trackSeq(rec, e.seq);
    rec.events++;
    if (typeof e.requestId !== "string") continue;
    const g = group(e.requestId);
    let grp = screens.groups.get(g);
    if (!grp) {
      grp = {
        counts: new Uint16Array(n),
        first: new Float64Array(n),
        last: new Float64Array(n),
        frames: new Uint16Array(n),
      };
      screens.groups.set(g, grp);
    }
    if (grp.counts[rec.i]++ === 0) grp.first[rec.i] = t;
    grp.last[rec.i] = t;
    (touched ??= new Set()).add(g);
  }
  if (touched) {
    for (const g of touched) {
      screens.groups.get(g).frames[rec.i]++;
      checkWaiters(g);
    }
  }
}

function groupResult(grp, perSocket) {
  let tFirst = Infinity;
  let tLast = -Infinity;
  for (let i = 0; i < grp.counts.length; i++) {
    if (grp.counts[i] < perSocket) return null;
    const reached = perSocket === 1 ? grp.first[i] : grp.last[i];
    if (grp.first[i] < tFirst) tFirst = grp.first[i];
    if (reached > tLast) tLast = reached;
  }
  return { tFirst, tLast, frames: Array.from(grp.frames), counts: Array.from(grp.counts) };
}

function checkWaiters(g) {
  const list = screens.waiters.get(g);
  if (!list) return;
  const grp = screens.groups.get(g);
  for (const w of [...list]) {
    const r = groupResult(grp, w.perSocket);
    if (r) {
      clearTimeout(w.timer);
      list.splice(list.indexOf(w), 1);
      w.resolve(r);
    }
  }
  if (list.length === 0) screens.waiters.delete(g);
}

// ---------------------------------------------------------------- handlers

const handlers = {
  init({ base }) {
    request = httpClient(base, { maxSockets: 256 });
    return { pid: process.pid };
  },

  cpu() {
    const u = process.cpuUsage();
    return { cpuMs: (u.user + u.system) / 1000 };
  },

  /** Opens one screen per URL; resolves once each has its SNAPSHOT (or REPLAY_DONE). */
  async openScreens({ urls }) {
    const base = screens.sockets.length;
    if (base !== 0) throw new Error("screens already open in this process");
    const recs = urls.map((url, i) => {
      const rec = {
        i,
        url,
        ws: null,
        snapshotSeq: undefined,
        epoch: undefined,
        next: undefined,
        missing: new Set(),
        duplicated: 0,
        reordered: 0,
        frames: 0,
        events: 0,
        closed: false,
        closeCode: null,
      };
      rec.readyP = new Promise((resolve) => (rec.ready = resolve));
      return rec;
    });
    screens.sockets = recs;
    await mapLimit(recs, 16, async (rec) => {
      rec.ws = openSocket(rec.url);
      rec.ws.on("message", (data) => onScreenFrame(rec, data));
      rec.ws.on("close", (code) => {
        rec.closed = true;
        rec.closeCode = code;
      });
      await onceOpen(rec.ws);
      await Promise.race([rec.readyP, sleep(15_000).then(() => Promise.reject(new Error("no SNAPSHOT within 15 s")))]);
    });
    return { opened: recs.length, snapshotSeqs: recs.map((r) => r.snapshotSeq), epoch: recs[0]?.epoch };
  },

  /** Resolves when every screen has at least `perSocket` events of `group`. */
  waitGroup({ group: g, perSocket = 1, timeoutMs = 10_000 }) {
    const grp = screens.groups.get(g);
    const ready = grp && groupResult(grp, perSocket);
    if (ready) return ready;
    return new Promise((resolve, reject) => {
      const w = { perSocket, resolve, timer: null };
      w.timer = setTimeout(() => {
        const list = screens.waiters.get(g) ?? [];
        list.splice(list.indexOf(w), 1);
        const have = screens.groups.get(g);
        reject(
          new Error(
            `group ${g}: not every screen got ${perSocket} event(s) within ${timeoutMs} ms (counts ${have ? Array.from(have.counts).join(",") : "none"})`,
          ),
        );
      }, timeoutMs);
      const list = screens.waiters.get(g) ?? [];
      list.push(w);
      screens.waiters.set(g, list);
    });
  },

  /** For every group starting with `prefix`: when the last screen got it (NaN while incomplete). */
  groupTimes({ prefix, count }) {
    const tLast = new Float64Array(count).fill(NaN);
    const received = new Uint16Array(count);
    for (const [g, grp] of screens.groups) {
      if (!g.startsWith(prefix)) continue;
      const idx = Number(g.slice(prefix.length));
      if (!Number.isInteger(idx) || idx < 0 || idx >= count) continue;
      let got = 0;
      let last = -Infinity;
      for (let i = 0; i < grp.counts.length; i++) {
        if (grp.counts[i] > 0) {
          got++;
          if (grp.first[i] > last) last = grp.first[i];
        }
      }
      received[idx] = got;
      if (got === grp.counts.length) tLast[idx] = last;
    }
    return { tLast, received, sockets: screens.sockets.length };
  },

  /** Gap check of every screen's stream against the room's final seq. */
  seqStats({ expectedLast }) {
    let lost = 0;
    let duplicated = 0;
    let reordered = 0;
    let closed = 0;
    const perScreen = screens.sockets.map((rec) => {
      const tailMissing = Math.max(0, expectedLast - (rec.next - 1));
      const l = rec.missing.size + tailMissing;
      lost += l;
      duplicated += rec.duplicated;
      reordered += rec.reordered;
      if (rec.closed) closed++;
      return {
        snapshotSeq: rec.snapshotSeq,
        lastSeq: rec.next - 1,
        lost: l,
        duplicated: rec.duplicated,
        reordered: rec.reordered,
        frames: rec.frames,
        events: rec.events,
        closeCode: rec.closeCode,
      };
    });
    return { lost, duplicated, reordered, closed, badFrames: screens.badFrames, perScreen };
  },

  resetGroups() {
    screens.groups.clear();
    return {};
  },

  async closeScreens() {
    for (const rec of screens.sockets) rec.ws?.close();
    screens.sockets = [];
    screens.groups.clear();
    screens.waiters.clear();
    await sleep(50);
    return {};
  },

  // ---------------------------------------------------------------- placer

  /** One order through REST; its Idempotency-Key is the key screens group its event by. */
  async placeOne({ origin, path = "/api/orders", merchantId, token, key }) {
    const r = await clientFor(origin)("POST", path, {
      token,
      body: { merchantId, items: ORDER_ITEMS },
      headers: { "idempotency-key": key },
    });
    return {
      t0: r.t0,
      t1: r.t1,
      status: r.status,
      orderId: r.json?.id,
      error: r.status === 201 ? undefined : (r.text ?? r.error),
    };
  },

  /**
   * Open loop: order i is sent at start + i/rate whatever happened to the ones before (so a slow
   * server cannot slow the offered load down); its latency is measured from its actual send.
   */
  async placeRate({ path = "/api/orders", merchantId, tokens, rate, durationMs, prefix }) {
    const total = Math.max(1, Math.round((rate * durationMs) / 1000));
    const t0s = new Float64Array(total);
    const t1s = new Float64Array(total);
    const status = new Int16Array(total);
    const lag = new Float64Array(total);
    const errors = [];
    const interval = 1000 / rate;
    const start = now() + 20;
    let sent = 0;
    let done = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const t = now();
        while (sent < total && start + sent * interval <= t) {
          const k = sent++;
          const scheduled = start + k * interval;
          request("POST", path, {
            token: tokens[k % tokens.length],
            body: { merchantId, items: ORDER_ITEMS },
            headers: { "idempotency-key": `${prefix}${k}` },
          }).then((r) => {
            t0s[k] = r.t0;
            t1s[k] = r.t1;
            status[k] = r.status;
            lag[k] = r.t0 - scheduled;
            if (r.status !== 201 && errors.length < 5)
              errors.push(`${r.status} ${(r.text ?? r.error ?? "").slice(0, 200)}`);
            if (++done === total) resolve();
          });
        }
        if (sent < total) setTimeout(tick, Math.max(0, Math.min(4, start + sent * interval - now() - 0.5)));
      };
      tick();
    });
    return { total, t0s, t1s, status, lag, errors, sendSpanMs: t0s[total - 1] - t0s[0] };
  },

  /** Places `n` orders (setup, untimed) and returns their ids and the token of each. */
  async placeMany({ merchantId, tokens, n, concurrency = 8 }) {
    const ids = await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      concurrency,
      async (i) => {
        const token = tokens[i % tokens.length];
        const r = await request("POST", "/api/orders", { token, body: { merchantId, items: ORDER_ITEMS } });
        if (r.status !== 201) throw new Error(`placing an order failed: ${r.status} ${r.text ?? r.error}`);
        return { id: r.json.id, token };
      },
    );
    return { orders: ids };
  },

  // ---------------------------------------------------------------- actor (bulk vs singles)

  async actorOpen({ url }) {
    handlers.actor = await openMailbox(url);
    await handlers.actor.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    return {};
  },

  /** One BULK_ACCEPT of every id; resolves on its BULK_RESULT. */
  async actorBulk({ ids, requestId }) {
    const a = handlers.actor;
    a.clear();
    const reply = a.next(
      (e) => e.requestId === requestId && (e.event === "BULK_RESULT" || e.event === "ERROR"),
      30_000,
      "BULK_RESULT",
    );
    const t0 = now();
    a.ws.send(JSON.stringify({ action: "BULK_ACCEPT", requestId, payload: { orderIds: ids, prepMinutes: 10 } }));
    const { e, t } = await reply;
    const okCount = e.event === "BULK_RESULT" ? e.payload.results.filter((r) => r.ok).length : 0;
    return { t0, tReply: t, okCount, error: e.event === "ERROR" ? e.payload : undefined };
  },

  /** MERCHANT_ACCEPT of each id in sequence: the next is sent when the previous one's ACK is in. */
  async actorSingles({ ids, prefix }) {
    const a = handlers.actor;
    a.clear();
    let t0 = null;
    let tLast = null;
    let okCount = 0;
    for (let i = 0; i < ids.length; i++) {
      const requestId = `${prefix}#${i}`;
      const reply = a.next(
        (e) => e.requestId === requestId && (e.event === "ACK" || e.event === "ERROR"),
        10_000,
        "ACK",
      );
      const ts = now();
      t0 ??= ts;
      a.ws.send(
        JSON.stringify({ action: "MERCHANT_ACCEPT", requestId, payload: { orderId: ids[i], prepMinutes: 10 } }),
      );
      const { e, t } = await reply;
      if (e.event === "ACK") okCount++;
      tLast = t;
      if (i % 20 === 0) a.clear();
    }
    return { t0, tReply: tLast, okCount };
  },

  async actorClose() {
    handlers.actor?.ws.close();
    return {};
  },

  // ---------------------------------------------------------------- relay

  /**
   * Merchant socket MERCHANT_ACCEPT → MERCHANT_ACCEPTED on the customer's order-room socket.
   * Orders are placed and their customer sockets opened in batches (untimed); then the accepts
   * go one at a time, each timed from its send to the customer's receipt.
   */
  async relay({ wsBase, merchantId, merchantToken, customerTokens, n, warmup, batch, quietPids }) {
    const merchant = await openMailbox(`${wsBase}/ws/merchant/${merchantId}/orders?token=${merchantToken}`);
    await merchant.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    const samples = [];
    const acks = [];
    let done = 0;
    while (done < warmup + n) {
      const count = Math.min(batch, warmup + n - done);
      const { orders } = await handlers.placeMany({ merchantId, tokens: customerTokens, n: count, concurrency: 8 });
      const customers = await mapLimit(orders, 8, async (o) => {
        const s = await openMailbox(`${wsBase}/ws/order/${encodeURIComponent(o.id)}?token=${o.token}`);
        await s.next((e) => e.event === "SNAPSHOT", 15_000, "order SNAPSHOT");
        return s;
      });
      await waitQuiet(quietPids); // let the placements' outbox drain: we time accepts, not placements
      merchant.clear();
      for (let j = 0; j < count; j++) {
        const requestId = `relay-${done}`;
        const seen = customers[j].next((e) => e.event === "MERCHANT_ACCEPTED", 10_000, "MERCHANT_ACCEPTED");
        const acked = merchant.next(
          (e) => e.requestId === requestId && (e.event === "ACK" || e.event === "ERROR"),
          10_000,
          "ACK",
        );
        const t0 = now();
        merchant.ws.send(
          JSON.stringify({ action: "MERCHANT_ACCEPT", requestId, payload: { orderId: orders[j].id, prepMinutes: 10 } }),
        );
        const [c, a] = await Promise.all([seen, acked]);
        if (a.e.event !== "ACK") throw new Error(`accept refused: ${JSON.stringify(a.e.payload)}`);
        if (done >= warmup) {
          samples.push(c.t - t0);
          acks.push(a.t - t0);
        }
        done++;
        if (j % 20 === 0) merchant.clear();
      }
      for (const s of customers) s.ws.close();
    }
    merchant.ws.close();
    return { samples, acks };
  },

  // ---------------------------------------------------------------- resume

  /**
   * A screen takes the SNAPSHOT and leaves; `events` changes happen (orders placed through REST,
   * then accepted in bulks over a socket) while a second screen stays live as the witness.
   */
  async resumePrepare({ wsBase, merchantId, merchantToken, customerTokens, events }) {
    const url = `${wsBase}/ws/merchant/${merchantId}/orders?token=${merchantToken}`;
    const live = await openMailbox(url, { keepAll: true });
    await live.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    const away = await openMailbox(url);
    const snap = await away.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    const since = snap.e.seq;
    const epoch = snap.e.payload.epoch;
    away.ws.close();

    // A third placed through REST, then accepted and marked ready in bulks over the socket: three
    // kinds of events, and a bulk costs the room far less per event than a placement.
    const places = Math.ceil(events / 3);
    const { orders } = await handlers.placeMany({ merchantId, tokens: customerTokens, n: places, concurrency: 8 });
    const ids = orders.map((o) => o.id);
    const plan = [];
    for (const action of ["BULK_ACCEPT", "BULK_MARK_READY"])
      for (let f = 0; f < places; f += 100) plan.push([action, ids.slice(f, f + 100)]);
    let remaining = events - places;
    for (let i = 0; remaining > 0; i++) {
      const [action, all] = plan[i];
      const batch = all.slice(0, remaining);
      const requestId = `resume-bulk-${i}`;
      const reply = live.next(
        (e) => e.requestId === requestId && (e.event === "BULK_RESULT" || e.event === "ERROR"),
        120_000,
        "BULK_RESULT",
      );
      live.ws.send(JSON.stringify({ action, requestId, payload: { orderIds: batch } }));
      const { e } = await reply;
      const moved = e.event === "BULK_RESULT" ? e.payload.results.filter((r) => r.ok).length : 0;
      if (moved !== batch.length)
        throw new Error(`${action} moved ${moved} of ${batch.length}: ${JSON.stringify(e.payload).slice(0, 300)}`);
      remaining -= batch.length;
    }
    const target = since + events;
    const deadline = Date.now() + 30_000;
    while (!live.all.has(target) && Date.now() < deadline) await sleep(20);
    if (!live.all.has(target)) throw new Error(`the live screen never reached seq ${target}`);
    live.clear();
    const expected = [];
    for (let s = since + 1; s <= target; s++) expected.push(live.all.get(s));
    live.ws.close();
    handlers.resumeState = { url, since, epoch, expected };
    return { since, target };
  },

  /**
   * The screen comes back with since+epoch, `reps` times, each timed from the upgrade request to
   * REPLAY_DONE and compared envelope by envelope with what the witness saw live.
   */
  async resumeMeasure({ reps }) {
    const { url, since, epoch, expected } = handlers.resumeState;
    const samples = [];
    const problems = [];
    let frames = 0;
    for (let rep = 0; rep < reps; rep++) {
      const t0 = now();
      const s = mailboxSocket(`${url}&since=${since}&epoch=${encodeURIComponent(epoch)}`);
      const done = await s.next((e) => e.event === "REPLAY_DONE" || e.event === "SNAPSHOT", 30_000, "REPLAY_DONE");
      samples.push(done.t - t0);
      frames = s.frames - 1;
      const got = s.box.map((item) => JSON.stringify(item.e));
      if (done.e.event !== "REPLAY_DONE") problems.push(`rep ${rep}: got ${done.e.event} instead of REPLAY_DONE`);
      else if (got.length !== expected.length)
        problems.push(`rep ${rep}: replayed ${got.length} events, expected ${expected.length}`);
      else if (got.some((g, i) => g !== expected[i]))
        problems.push(`rep ${rep}: replayed events differ from the live ones`);
      s.ws.close();
      await sleep(20);
    }
    return { samples, exact: problems.length === 0, problems, framesPerReplay: frames };
  },

  // ---------------------------------------------------------------- round trips

  /**
   * Sequential round trips on one socket: `message` out, the first frame back in. With
   * `awaitFirst`, the first frame the server sends on open (a SNAPSHOT) is awaited and skipped.
   */
  async rtt({ url, message, expect, n, warmup, awaitFirst = false }) {
    const s = await openMailbox(url);
    if (awaitFirst) await s.next(() => true, 15_000, "the first frame");
    const samples = [];
    for (let i = 0; i < warmup + n; i++) {
      const msg = message.replace("{i}", String(i));
      const back = s.next((e) => (expect === "pong" ? e.event === "pong" : e.i === i), 10_000, "the echo");
      const t0 = now();
      s.ws.send(msg);
      const { t } = await back;
      if (i >= warmup) samples.push(t - t0);
    }
    s.ws.close();
    return { samples };
  },

  // ---------------------------------------------------------------- cost per operation

  /**
   * One operation at a time on an idle server: the Worker+rooms workerd's CPU until the client
   * had what it waited for (the reply; for a placement also the screen's ORDER_CREATED) and until
   * the server is idle again (the outbox relay and D1 write included). /proc CPU ticks are 10 ms,
   * so these are averages over `n` operations.
   */
  async opsCost({ wsBase, merchantId, merchantToken, customerToken, n, workerPids, proxyPids }) {
    const sum = (pids) => pids.reduce((a, pid) => a + (cpuMsOf(pid) ?? 0), 0);
    const quiet = () => waitQuiet(workerPids, { idlePct: 3, windowMs: 150 });
    const screen = await openMailbox(`${wsBase}/ws/merchant/${merchantId}/orders?token=${merchantToken}`);
    await screen.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    let rid = 0;
    const act = async (action, payload) => {
      const requestId = `ops-${rid++}`;
      const reply = screen.next(
        (e) => e.requestId === requestId && ["ACK", "ERROR", "BULK_RESULT"].includes(e.event),
        60_000,
        "reply",
      );
      const t0 = now();
      screen.ws.send(JSON.stringify({ action, requestId, payload }));
      const r = await reply;
      if (r.e.event === "ERROR") throw new Error(`${action}: ${JSON.stringify(r.e.payload)}`);
      return { t0, t1: r.t };
    };
    const rows = [];
    const measure = async (name, count, fn) => {
      let untilReply = 0;
      let untilEvent = 0;
      let total = 0;
      let proxy = 0;
      const lat = [];
      const out = [];
      for (let i = 0; i < count; i++) {
        await quiet();
        screen.clear();
        const w0 = sum(workerPids);
        const p0 = sum(proxyPids);
        const r = await fn(i);
        untilReply += sum(workerPids) - w0;
        if (r.cpuAtEvent !== undefined) untilEvent += r.cpuAtEvent - w0;
        await quiet();
        total += sum(workerPids) - w0;
        proxy += sum(proxyPids) - p0;
        lat.push(r.t1 - r.t0);
        out.push(r);
      }
      rows.push({
        op: name,
        n: count,
        latency_p50_ms: summarize(lat).p50,
        workerd_cpu_until_reply_ms: round(untilReply / count, 1),
        ...(out[0].cpuAtEvent !== undefined ? { workerd_cpu_until_screen_event_ms: round(untilEvent / count, 1) } : {}),
        workerd_cpu_total_ms: round(total / count, 1),
        proxy_cpu_ms: round(proxy / count, 1),
      });
      return out;
    };
    await measure("GET /api/health", n, () => request("GET", "/api/health"));
    const placed = await measure("POST /api/orders (new OrderRoom per order)", n, async (i) => {
      const key = `ops-place-${i}`;
      const seen = screen
        .next((e) => e.requestId === key && e.event === "ORDER_CREATED", 30_000, "ORDER_CREATED")
        .then(() => sum(workerPids));
      const r = await request("POST", "/api/orders", {
        token: customerToken,
        body: { merchantId, items: ORDER_ITEMS },
        headers: { "idempotency-key": key },
      });
      if (r.status !== 201) throw new Error(`place: ${r.status} ${r.text}`);
      return { ...r, cpuAtEvent: await seen };
    });
    const ids = placed.map((r) => r.json.id);
    await measure("GET /api/orders/:id", n, (i) =>
      request("GET", `/api/orders/${encodeURIComponent(ids[i])}`, { token: customerToken }),
    );
    await measure("socket MERCHANT_ACCEPT", n, (i) => act("MERCHANT_ACCEPT", { orderId: ids[i], prepMinutes: 10 }));
    await measure("socket MERCHANT_UPDATE_PREP_TIME", n, (i) =>
      act("MERCHANT_UPDATE_PREP_TIME", { orderId: ids[i], prepMinutes: 12 }),
    );
    const { orders } = await handlers.placeMany({ merchantId, tokens: [customerToken], n: 100, concurrency: 8 });
    const bulk = await measure("socket BULK_ACCEPT of 100 (per bulk)", 1, () =>
      act("BULK_ACCEPT", { orderIds: orders.map((o) => o.id), prepMinutes: 10 }),
    );
    void bulk;
    screen.ws.close();
    return { rows };
  },

  // ---------------------------------------------------------------- polling

  /** GET latency, sequential (the poll's own cost). */
  async getLatency({ path, token, n, warmup }) {
    const samples = [];
    for (let i = 0; i < warmup + n; i++) {
      const r = await request("GET", path, { token });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
      if (i >= warmup) samples.push(r.t1 - r.t0);
    }
    return { samples };
  },

  /**
   * Real pollers: each customer polls its order every `periodMs` from a random phase; each order
   * is accepted (REST) at a random moment; time-until-visible = from the accept's send to the
   * first poll response that shows ACCEPTED.
   */
  async pollSim({ merchantId, merchantToken, orders, periodMs, spreadMs }) {
    const start = now() + 100;
    const results = await Promise.all(
      orders.map(async (o) => {
        const phase = Math.random() * periodMs;
        const changeAt = start + 200 + Math.random() * spreadMs;
        let tChange = null;
        let visible = null;
        const change = (async () => {
          await sleep(changeAt - now());
          // Known before the request goes out, so a poll answered before the accept's own
          // response still counts from the change's send.
          tChange = now();
          const r = await request("POST", `/api/merchants/${merchantId}/orders/${encodeURIComponent(o.id)}/accept`, {
            token: merchantToken,
            body: { prepMinutes: 10 },
          });
          if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
        })();
        let nextPoll = start + phase;
        let polls = 0;
        while (visible === null && now() - start < spreadMs + 3 * periodMs) {
          await sleep(nextPoll - now());
          nextPoll += periodMs;
          const r = await request("GET", `/api/orders/${encodeURIComponent(o.id)}`, { token: o.token });
          polls++;
          if (r.status === 200 && r.json.status === "ACCEPTED" && tChange !== null) visible = r.t1 - tChange;
        }
        await change;
        return { visible, polls };
      }),
    );
    return {
      samples: results.map((r) => r.visible).filter((v) => v !== null),
      missed: results.filter((r) => r.visible === null).length,
      polls: results.reduce((a, r) => a + r.polls, 0),
    };
  },
};

process.on("message", async (msg) => {
  try {
    const fn = handlers[msg.cmd];
    if (typeof fn !== "function") throw new Error(`unknown command ${msg.cmd}`);
    const result = await fn(msg.args ?? {});
    process.send({ id: msg.id, ok: true, result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});

// The orchestrator went away (finished, crashed or Ctrl-C): go too.
process.on("disconnect", () => process.exit(0));
