/**
 * The kitchen-screen role of a load process (fan-out, bulk, rush): N screens on one socket URL
 * each. They check every stream event's seq (lost / duplicated / reordered) and record, per
 * requestId group, when each screen got its events: `group#i` requestIds (100 single accepts)
 * count as one group.
 */
import type { WebSocket } from "ws";
import { envelopesOf, mapLimit, now, onceOpen, openSocket, sleep } from "../lib/common.ts";

export interface ScreenRecord {
  i: number;
  url: string;
  ws: WebSocket | null;
  snapshotSeq: number | undefined;
  epoch: string | undefined;
  /** The next seq expected; undefined until the SNAPSHOT. */
  next: number | undefined;
  missing: Set<number>;
  duplicated: number;
  reordered: number;
  frames: number;
  events: number;
  closed: boolean;
  closeCode: number | null;
  ready: () => void;
  readyP: Promise<void>;
}

/** Per group: how many events each screen got, when its first and last came, in how many frames. */
export interface Group {
  counts: Uint16Array;
  first: Float64Array;
  last: Float64Array;
  frames: Uint16Array;
}

type GroupWaiter = { perSocket: number; resolve: (r: GroupResult) => void; timer: NodeJS.Timeout | null };
export type GroupResult = { tFirst: number; tLast: number; frames: number[]; counts: number[] };

export const screens = {
  sockets: [] as ScreenRecord[],
  groups: new Map<string, Group>(),
  waiters: new Map<string, GroupWaiter[]>(),
  badFrames: 0,
};

const groupOf = (requestId: string) => {
  const hash = requestId.indexOf("#");
  return hash >= 0 ? requestId.slice(0, hash) : requestId;
};

function trackSeq(rec: ScreenRecord & { next: number }, seq: number): void {
  if (seq === rec.next) rec.next++;
  else if (seq > rec.next) {
    for (let s = rec.next; s < seq; s++) rec.missing.add(s);
    rec.next = seq + 1;
  } else if (rec.missing.has(seq)) {
    rec.missing.delete(seq);
    rec.reordered++;
  } else rec.duplicated++;
}

function onScreenFrame(rec: ScreenRecord, data: string): void {
  const t = now();
  rec.frames++;
  let envs: ReturnType<typeof envelopesOf>;
  try {
    envs = envelopesOf(data);
  } catch {
    screens.badFrames++;
    return;
  }
  let touched: Set<string> | null = null;
  const n = screens.sockets.length;
  for (const e of envs) {
    if (e.event === "SNAPSHOT" || e.event === "REPLAY_DONE") {
      if (rec.next === undefined && e.seq !== undefined) {
        rec.snapshotSeq = e.seq;
        rec.next = e.seq + 1;
        rec.epoch = e.payload?.epoch;
        rec.ready();
      }
      continue;
    }
    if (typeof e.seq === "number" && rec.next !== undefined) trackSeq(rec as ScreenRecord & { next: number }, e.seq);
    rec.events++;
    if (typeof e.requestId !== "string") continue;
    const g = groupOf(e.requestId);
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
    if (grp.counts[rec.i]!++ === 0) grp.first[rec.i] = t;
    grp.last[rec.i] = t;
    (touched ??= new Set()).add(g);
  }
  for (const g of touched ?? []) {
    screens.groups.get(g)!.frames[rec.i]!++;
    checkWaiters(g);
  }
}

/** When the last screen reached `perSocket` events of the group (for 1: its first), or null. */
function groupResult(grp: Group, perSocket: number): GroupResult | null {
  let tFirst = Infinity;
  let tLast = -Infinity;
  for (let i = 0; i < grp.counts.length; i++) {
    if (grp.counts[i]! < perSocket) return null;
    const reached = perSocket === 1 ? grp.first[i]! : grp.last[i]!;
    if (grp.first[i]! < tFirst) tFirst = grp.first[i]!;
    if (reached > tLast) tLast = reached;
  }
  return { tFirst, tLast, frames: Array.from(grp.frames), counts: Array.from(grp.counts) };
}

function checkWaiters(g: string): void {
  const list = screens.waiters.get(g);
  const grp = screens.groups.get(g);
  if (!list || !grp) return;
  for (const w of [...list]) {
    const r = groupResult(grp, w.perSocket);
    if (r) {
      if (w.timer) clearTimeout(w.timer);
      list.splice(list.indexOf(w), 1);
      w.resolve(r);
    }
  }
  if (list.length === 0) screens.waiters.delete(g);
}

export const screenHandlers = {
  /** Opens one screen per URL; resolves once each has its SNAPSHOT (or REPLAY_DONE). */
  async openScreens({ urls }: { urls: string[] }) {
    if (screens.sockets.length !== 0) throw new Error("screens already open in this process");
    const recs = urls.map((url, i) => {
      let ready = () => {};
      const readyP = new Promise<void>((resolve) => (ready = resolve));
      const rec: ScreenRecord = {
        i,
        url,
        ws: null,
        snapshotSeq: undefined,
        epoch: undefined,
        next: undefined,
        missing: new Set<number>(),
        duplicated: 0,
        reordered: 0,
        frames: 0,
        events: 0,
        closed: false,
        closeCode: null,
        ready,
        readyP,
      };
      return rec;
    });
    screens.sockets = recs;
    await mapLimit(recs, 16, async (rec) => {
      const ws = openSocket(rec.url);
      rec.ws = ws;
      ws.on("message", (data) => onScreenFrame(rec, data.toString()));
      ws.on("close", (code) => {
        rec.closed = true;
        rec.closeCode = code;
      });
      await onceOpen(ws);
      await Promise.race([rec.readyP, sleep(15_000).then(() => Promise.reject(new Error("no SNAPSHOT within 15 s")))]);
    });
    return { opened: recs.length, snapshotSeqs: recs.map((r) => r.snapshotSeq), epoch: recs[0]?.epoch };
  },

  /** Resolves when every screen has at least `perSocket` events of `group`. */
  waitGroup({
    group: g,
    perSocket = 1,
    timeoutMs = 10_000,
  }: {
    group: string;
    perSocket?: number;
    timeoutMs?: number;
  }) {
    const grp = screens.groups.get(g);
    const ready = grp && groupResult(grp, perSocket);
    if (ready) return Promise.resolve(ready);
    return new Promise<GroupResult>((resolve, reject) => {
      const w: GroupWaiter = { perSocket, resolve, timer: null };
      w.timer = setTimeout(() => {
        const list = screens.waiters.get(g) ?? [];
        list.splice(list.indexOf(w), 1);
        const counts = screens.groups.get(g)?.counts;
        const have = counts ? Array.from(counts).join(",") : "none";
        reject(
          new Error(`group ${g}: not every screen got ${perSocket} event(s) within ${timeoutMs} ms (counts ${have})`),
        );
      }, timeoutMs);
      const list = screens.waiters.get(g) ?? [];
      list.push(w);
      screens.waiters.set(g, list);
    });
  },

  async closeScreens() {
    for (const rec of screens.sockets) rec.ws?.close();
    screens.sockets = [];
    screens.groups.clear();
    screens.waiters.clear();
    await sleep(50);
    return {};
  },
};
