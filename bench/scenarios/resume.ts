/**
 * Resume: a screen takes its SNAPSHOT and leaves; 1,000 events happen (a third placements, then bulk
 * accepts and bulk ready) while a witness screen stays live; the screen comes back with since+epoch.
 * Timed from the upgrade request to REPLAY_DONE, and the replay is compared envelope by envelope
 * with what the witness saw live.
 */
import { now, round, type Summary, sleep, summarize } from "../lib/common.ts";
import { type BenchContext, createMerchant } from "../lib/orchestrator.ts";
import { placeMany } from "../load/client.ts";
import { mailboxSocket, openMailbox, openWithSnapshot, replyTo } from "../load/mailbox.ts";

const PLAN = { quick: { events: 1000, reps: 3 }, full: { events: 1000, reps: 20 } };

export interface ResumeResult {
  events: number;
  since: number;
  generating_events_ms: number | null;
  outbox_drain_after_ms: number | null;
  replay: Summary;
  first_reconnect_ms: number | null;
  exact: boolean;
  problems: string[];
  frames_per_replay: number;
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { events, reps } = ctx.quick ? PLAN.quick : PLAN.full;
  const m = await createMerchant(ctx, "bench-resume");
  const started = now();
  const prep = await ctx.agents.solo.call("resumePrepare", {
    url: m.screenUrl(await m.token("screen-resume")),
    merchantId: m.id,
    customerTokens: ctx.customers,
    events,
  });
  const generatedMs = now() - started;
  // The witness has every event once the room committed them; their outbox relays (one per event
  // to an OrderRoom, plus D1) drain after. Replays are timed on a settled room.
  const drainMs = await ctx.quiet();
  const r = await ctx.agents.solo.call("resumeMeasure", { reps });
  const out: ResumeResult = {
    events,
    since: prep.since,
    generating_events_ms: round(generatedMs, 0),
    outbox_drain_after_ms: drainMs,
    replay: summarize(r.samples),
    first_reconnect_ms: round(r.samples[0]),
    exact: r.exact,
    problems: r.problems,
    frames_per_replay: r.framesPerReplay,
  };
  ctx.results.scenarios.resume = out;
  ctx.log(`resume of ${events}: p50 ${out.replay.p50} ms (first ${out.first_reconnect_ms}); exact ${r.exact}`);
  if (!r.exact) throw new Error(`resume was not exact: ${r.problems.join("; ")}`);
}

/** What resumePrepare leaves for resumeMeasure: where the screen left, and what it missed. */
let missed: { url: string; since: number; epoch: string; expected: string[] } | null = null;

export const agent = {
  async resumePrepare(args: { url: string; merchantId: string; customerTokens: string[]; events: number }) {
    const { url, merchantId, customerTokens, events } = args;
    const live = await openWithSnapshot(url, { keepAll: true });
    const away = await openMailbox(url);
    const snap = await away.next((e) => e.event === "SNAPSHOT", 15_000, "SNAPSHOT");
    const since = snap.e.seq ?? 0;
    const epoch = snap.e.payload?.epoch ?? "";
    away.ws.close();

    // A third placed through REST, then accepted and marked ready in bulks over the socket: three
    // kinds of events, and a bulk costs the room far less per event than a placement.
    const places = Math.ceil(events / 3);
    const { orders } = await placeMany({ merchantId, tokens: customerTokens, n: places });
    const ids = orders.map((o) => o.id);
    const plan: [string, string[]][] = [];
    for (const action of ["BULK_ACCEPT", "BULK_MARK_READY"])
      for (let f = 0; f < places; f += 100) plan.push([action, ids.slice(f, f + 100)]);
    let remaining = events - places;
    for (let i = 0; remaining > 0; i++) {
      const [action, all] = plan[i]!;
      const batch = all.slice(0, remaining);
      const requestId = `resume-bulk-${i}`;
      const reply = replyTo(live, requestId, 120_000, "BULK_RESULT");
      live.send({ action, requestId, payload: { orderIds: batch } });
      const { e } = await reply;
      const moved = e.event === "BULK_RESULT" ? (e.payload?.results ?? []).filter((r) => r.ok).length : 0;
      if (moved !== batch.length)
        throw new Error(`${action} moved ${moved} of ${batch.length}: ${JSON.stringify(e.payload).slice(0, 300)}`);
      remaining -= batch.length;
    }
    const target = since + events;
    const seen = live.all ?? new Map<number, string>();
    const deadline = Date.now() + 30_000;
    while (!seen.has(target) && Date.now() < deadline) await sleep(20);
    if (!seen.has(target)) throw new Error(`the live screen never reached seq ${target}`);
    live.clear();
    const expected: string[] = [];
    for (let s = since + 1; s <= target; s++) expected.push(seen.get(s) ?? "(missing)");
    live.ws.close();
    missed = { url, since, epoch, expected };
    return { since, target };
  },

  /** The screen comes back with since+epoch, `reps` times; each replay must equal the live events. */
  async resumeMeasure({ reps }: { reps: number }) {
    if (!missed) throw new Error("resumePrepare first");
    const { url, since, epoch, expected } = missed;
    const samples: number[] = [];
    const problems: string[] = [];
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
};
