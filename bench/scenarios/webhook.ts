/**
 * Webhook delivery: from a change committed in a merchant room to a subscribed receiver having
 * its signed POST (Standard Webhooks). A receiver on loopback, in a load process, verifies every
 * signature; a platform subscribes it to a few merchants and makes changes at a steady pace
 * (a placement, then its accept). "Committed" is the event's own timestamp — the room's clock,
 * which under wrangler dev is this machine's wall clock, as is the receiver's Date.now(); also
 * timed from the REST request being sent, an upper bound that includes the request.
 */
import http from "node:http";
import { Webhook } from "standardwebhooks";
import { type Summary, sleep, summarize } from "../lib/common.ts";
import { type BenchContext, type CpuUsage, createMerchant, merchantIdFor, mintToken } from "../lib/orchestrator.ts";
import { api } from "../load/client.ts";

const PLAN = { quick: { changes: 60, merchants: 3, gapMs: 25 }, full: { changes: 300, merchants: 3, gapMs: 25 } };

export interface WebhookResult {
  committed_to_receiver: Summary;
  request_to_receiver: Summary;
  invalid_signatures: number;
  /** Until every room had learned of the new subscription and delivered a first event. */
  warm_up_ms: number;
  cpu: CpuUsage;
}

export async function orchestrate(ctx: BenchContext): Promise<void> {
  const { changes, merchants, gapMs } = ctx.quick ? PLAN.quick : PLAN.full;
  const platformToken = await mintToken(ctx.api, { role: "platform", sub: "bench-platform" });
  // Subscribed before the merchants exist: a room learns of a subscription when it next reads the
  // registry (10 s cache), so one created first knows from its first change.
  const merchantIds = Array.from({ length: merchants }, (_, i) => merchantIdFor(`bench-wh${i}`));
  await ctx.agents.solo.call("webhookSubscribe", { platformToken, merchantIds });
  const staff: Record<string, string> = {};
  for (const id of merchantIds) staff[id] = await (await createMerchant(ctx, "bench-wh", id)).token("bench-staff");
  const meter = ctx.meter();
  await meter.start();
  const r = await ctx.agents.solo.call("webhookLatency", { platformToken, staff, changes, gapMs });
  const out: WebhookResult = {
    committed_to_receiver: summarize(r.fromCommit),
    request_to_receiver: summarize(r.fromRequest),
    invalid_signatures: r.invalid,
    warm_up_ms: r.warmUpMs,
    cpu: await meter.stop(),
  };
  ctx.results.scenarios.webhook = out;
  const c = out.committed_to_receiver;
  ctx.log(
    `webhook committed → receiver p50 ${c.p50} p99 ${c.p99} ms over ${c.n} events; invalid signatures ${r.invalid}`,
  );
  if (r.invalid > 0) throw new Error(`${r.invalid} webhook(s) with an invalid signature`);
}

type Arrival = { atMs: number; payload: { timestamp: string } };

/** The receiver: verifies every signature, records when each webhook-id first arrived. */
function startReceiver(secretOf: () => string) {
  const arrived = new Map<string, Arrival>();
  let invalid = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const atMs = Date.now();
      try {
        const headers = req.headers as Record<string, string>;
        const payload = new Webhook(secretOf()).verify(Buffer.concat(chunks).toString("utf8"), headers);
        const id = headers["webhook-id"] ?? "";
        if (!arrived.has(id)) arrived.set(id, { atMs, payload: payload as Arrival["payload"] });
        res.writeHead(204).end();
      } catch {
        invalid++;
        res.writeHead(400).end();
      }
    });
  });
  return new Promise<{ arrived: Map<string, Arrival>; invalid: () => number; server: http.Server; port: number }>(
    (resolve) =>
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        resolve({ arrived, invalid: () => invalid, server, port });
      }),
  );
}

/** One REST call of the platform or a kitchen; throws unless it succeeded. */
async function call<T>(method: string, route: string, token: string, body?: unknown): Promise<T> {
  const r = await api()<T>(method, route, { token, body });
  if (r.status < 200 || r.status > 299 || r.json === undefined)
    throw new Error(`${method} ${route} → ${r.status} ${r.text}`);
  return r.json;
}

type WebhookArgs = { platformToken: string; staff: Record<string, string>; changes: number; gapMs: number };

/** The receiver and its subscription's secret, from webhookSubscribe to the end of webhookLatency. */
let subscribed: { receiver: Awaited<ReturnType<typeof startReceiver>>; secret: string } | null = null;

export const agent = {
  /** Starts the receiver and subscribes it (platform) to the merchants' events. */
  async webhookSubscribe({ platformToken, merchantIds }: { platformToken: string; merchantIds: string[] }) {
    const receiver = await startReceiver(() => subscribed?.secret ?? "");
    subscribed = { receiver, secret: "" };
    const url = `http://127.0.0.1:${receiver.port}/hook`;
    subscribed.secret = (
      await call<{ secret: string }>("POST", "/api/webhooks", platformToken, { url, merchantIds })
    ).secret;
    return {};
  },

  async webhookLatency({ platformToken, staff, changes, gapMs }: WebhookArgs) {
    if (!subscribed) throw new Error("webhookSubscribe first");
    const { receiver } = subscribed;
    const merchantIds = Object.keys(staff);
    try {
      const items = [{ name: "Dal", quantity: 1, unitPriceCents: 900 }];
      const place = (merchantId: string, n: string) =>
        call<{ id: string }>("POST", "/api/orders", platformToken, {
          merchantId,
          items,
          customerId: "bench-cust",
          externalId: `bench-${n}`,
        });
      // Warm-up: every room has learned of the subscription and delivered once.
      const warm = Date.now();
      for (const id of merchantIds) await place(id, `warm-${id}`);
      for (; receiver.arrived.size < merchantIds.length; await sleep(50))
        if (Date.now() - warm > 30_000) throw new Error("the receiver got no warm-up webhooks in 30 s");
      const warmUpMs = Date.now() - warm;
      // The n-th event of a merchant's stream arrives as webhook-id `<merchantId>:<n>`.
      const seqs = new Map(merchantIds.map((id) => [id, 1]));
      const sentAt = new Map<string, number>();
      const next = (merchantId: string) => {
        const n = (seqs.get(merchantId) ?? 0) + 1;
        seqs.set(merchantId, n);
        return `${merchantId}:${n}`;
      };
      for (let i = 0; i < changes; i += 2) {
        const merchantId = merchantIds[(i / 2) % merchantIds.length]!;
        const t0 = Date.now();
        const order = await place(merchantId, String(i));
        sentAt.set(next(merchantId), t0);
        await sleep(gapMs);
        const t1 = Date.now();
        await call("POST", `/api/merchants/${merchantId}/orders/${order.id}/accept`, staff[merchantId]!, {});
        sentAt.set(next(merchantId), t1);
        await sleep(gapMs);
      }
      for (const deadline = Date.now() + 30_000; [...sentAt.keys()].some((id) => !receiver.arrived.has(id)); ) {
        if (Date.now() > deadline) throw new Error("not every webhook arrived within 30 s");
        await sleep(50);
      }
      const fromCommit: number[] = [];
      const fromRequest: number[] = [];
      for (const [id, t0] of sentAt) {
        const { atMs, payload } = receiver.arrived.get(id)!;
        fromCommit.push(atMs - Date.parse(payload.timestamp));
        fromRequest.push(atMs - t0);
      }
      return { fromCommit, fromRequest, invalid: receiver.invalid(), warmUpMs };
    } finally {
      receiver.server.close();
      subscribed = null;
    }
  },
};
