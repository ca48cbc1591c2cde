/**
 * Bulk vs singles: one BULK_ACCEPT of 100 orders against 100 MERCHANT_ACCEPTs in sequence (each
 * sent when the previous one's ACK is in), from an "actor" merchant socket; timed from the send
 * until every one of 5 screens has all 100 events, with the frames each screen needed.
 */
import { median, now, round } from "../lib/common.ts";
import { type BenchContext, type CpuUsage, createMerchant } from "../lib/orchestrator.ts";
import { type Mailbox, openWithSnapshot, replyTo } from "../load/mailbox.ts";

const PLAN = { quick: { rounds: 1, screens: 5 }, full: { rounds: 5, screens: 5 } };

type Run = { ok: number; reply_ms: number; all_screens_ms: number; frames_per_screen: number[] };

export interface BulkResult {
  rounds: { bulk: Run; singles: Omit<Run, "frames_per_screen"> & { frames_per_screen_max: number } }[];
  bulk_ms: number | null;
  singles_ms: number | null;
  bulk_reply_ms: number | null;
  singles_reply_ms: number | null;
  speedup: number | null;
  frames_per_screen_max: number;
  cpu: CpuUsage;
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { rounds, screens } = ctx.quick ? PLAN.quick : PLAN.full;
  const m = await createMerchant(ctx, "bench-bulk");
  const { screensA, placer: actor } = ctx.agents;
  const screenUrl = m.screenUrl(await m.token("screen-bulk"));
  await screensA.call("openScreens", { urls: Array.from({ length: screens }, () => screenUrl) });
  await actor.call("actorOpen", { url: m.screenUrl(await m.token("actor")) });
  const timed = async (kind: "bulk" | "singles", r: number): Promise<Run> => {
    const { orders } = await actor.call("placeMany", { merchantId: m.id, tokens: ctx.customers, n: 100 });
    await ctx.quiet(); // let the placements' outbox drain: we time the accepts only
    const group = `${kind}-${r}`;
    const wait = screensA.call("waitGroup", { group, perSocket: 100, timeoutMs: kind === "bulk" ? 60_000 : 120_000 });
    const ids = orders.map((o) => o.id);
    const res = await (kind === "bulk"
      ? actor.call("actorBulk", { ids, requestId: group })
      : actor.call("actorSingles", { ids, prefix: group }));
    const w = await wait;
    return {
      ok: res.okCount,
      reply_ms: res.tReply - res.t0,
      all_screens_ms: w.tLast - res.t0,
      frames_per_screen: w.frames,
    };
  };
  const rows: { bulk: Run; singles: Run }[] = [];
  const meter = ctx.meter();
  await meter.start();
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer room.
    const bulk = r % 2 === 0 ? await timed("bulk", r) : null;
    const singles = await timed("singles", r);
    rows.push({ bulk: bulk ?? (await timed("bulk", r)), singles });
  }
  const cpu = await meter.stop();
  await actor.call("actorClose");
  await screensA.call("closeScreens");
  const bulkMs = median(rows.map((x) => x.bulk.all_screens_ms));
  const singlesMs = median(rows.map((x) => x.singles.all_screens_ms));
  const out: BulkResult = {
    rounds: rows.map(({ bulk, singles }) => ({
      bulk: { ...bulk, reply_ms: round(bulk.reply_ms) ?? NaN, all_screens_ms: round(bulk.all_screens_ms) ?? NaN },
      singles: {
        ok: singles.ok,
        reply_ms: round(singles.reply_ms) ?? NaN,
        all_screens_ms: round(singles.all_screens_ms) ?? NaN,
        frames_per_screen_max: Math.max(...singles.frames_per_screen),
      },
    })),
    bulk_ms: bulkMs,
    singles_ms: singlesMs,
    bulk_reply_ms: median(rows.map((x) => x.bulk.reply_ms)),
    singles_reply_ms: median(rows.map((x) => x.singles.reply_ms)),
    speedup: bulkMs && singlesMs !== null ? round(singlesMs / bulkMs, 1) : null,
    frames_per_screen_max: Math.max(...rows.flatMap((x) => x.bulk.frames_per_screen)),
    cpu,
  };
  ctx.results.scenarios.bulk = out;
  ctx.log(
    `bulk ${bulkMs} ms vs singles ${singlesMs} ms → ×${out.speedup}; bulk frames per screen ≤ ${out.frames_per_screen_max}`,
  );
}

/** The actor's merchant socket, open between actorOpen and actorClose. */
let actor: Mailbox | null = null;
const theActor = (): Mailbox => {
  if (!actor) throw new Error("actorOpen first");
  actor.clear();
  return actor;
};

export const agent = {
  async actorOpen({ url }: { url: string }) {
    actor = await openWithSnapshot(url);
    return {};
  },

  /** One BULK_ACCEPT of every id; resolves on its BULK_RESULT. */
  async actorBulk({ ids, requestId }: { ids: string[]; requestId: string }) {
    const a = theActor();
    const reply = replyTo(a, requestId, 30_000, "BULK_RESULT");
    const t0 = now();
    a.send({ action: "BULK_ACCEPT", requestId, payload: { orderIds: ids, prepMinutes: 10 } });
    const { e, t } = await reply;
    const okCount = e.event === "BULK_RESULT" ? (e.payload?.results ?? []).filter((r) => r.ok).length : 0;
    return { t0, tReply: t, okCount, error: e.event === "ERROR" ? e.payload : undefined };
  },

  /** MERCHANT_ACCEPT of each id in sequence: the next is sent when the previous one's ACK is in. */
  async actorSingles({ ids, prefix }: { ids: string[]; prefix: string }) {
    const a = theActor();
    let t0 = Number.NaN;
    let tReply = Number.NaN;
    let okCount = 0;
    for (const [i, orderId] of ids.entries()) {
      const requestId = `${prefix}#${i}`;
      const reply = replyTo(a, requestId, 10_000, "ACK");
      const ts = now();
      if (i === 0) t0 = ts;
      a.send({ action: "MERCHANT_ACCEPT", requestId, payload: { orderId, prepMinutes: 10 } });
      const { e, t } = await reply;
      if (e.event === "ACK") okCount++;
      tReply = t;
      if (i % 20 === 0) a.clear();
    }
    return { t0, tReply, okCount };
  },

  async actorClose() {
    actor?.ws.close();
    actor = null;
    return {};
  },
};
