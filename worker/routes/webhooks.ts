/**
 * `/api/webhooks` (CONTRACT.md, Additions v2): subscriptions of a platform or dispatch. Each is its
 * creator's (role + sub): another caller is answered 404, as if it did not exist, so subscription
 * ids cannot be probed. Stored in the WebhookRegistry; delivered by the merchant rooms.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  CreateWebhookBodySchema,
  IdempotencyKeySchema,
  RedeliverBodySchema,
  WebhookDeliveriesQuerySchema,
  WebhookIdSchema,
} from "../../schema/index.ts";
import { OPERATORS, requireRole } from "../auth.ts";
import { ApiError, limitBody, respond, valid } from "../http.ts";
import type { Result } from "../rooms/merchant-order-room.ts";
import { type Outcome, REGISTRY_NAME } from "../rooms/webhook-registry.ts";
import { ownerOf } from "../rooms/webhooks/protocol.ts";
import { webhookUrlProblem } from "../webhooks/url-policy.ts";
import { type AppContext, type AppEnv, authenticated, merchantRoom } from "./context.ts";
import { devMode } from "./dev.ts";

const idParam = valid("param", z.object({ id: WebhookIdSchema }));

function registry(env: Env) {
  return env.WEBHOOK_REGISTRY.get(env.WEBHOOK_REGISTRY.idFromName(REGISTRY_NAME));
}

function owner(c: AppContext): string {
  return ownerOf(c.get("caller"));
}

function idempotencyKey(c: AppContext): string | undefined {
  const raw = c.req.header("Idempotency-Key");
  if (raw === undefined) return undefined;
  const parsed = IdempotencyKeySchema.safeParse(raw);
  if (!parsed.success)
    throw new ApiError("BAD_REQUEST", "Idempotency-Key must be 1..255 characters", parsed.error.issues);
  return parsed.data;
}

function answer<T>(c: AppContext, outcome: Outcome<T>, status: 200 | 201 = 200): Response {
  if (outcome.ok) return c.json(outcome.value as object, status);
  if (outcome.code === "NOT_FOUND") throw new ApiError("NOT_FOUND", "webhook not found");
  throw new ApiError("IDEMPOTENCY_MISMATCH", "this key was used for a different request");
}

const missing = () => new ApiError("NOT_FOUND", "webhook not found");

export const webhooksRoutes = new Hono<AppEnv>()
  .use(authenticated)
  .use(async (c, next) => {
    requireRole(c.get("caller"), ...OPERATORS);
    await next();
  })
  .post("/", limitBody, valid("json", CreateWebhookBodySchema), async (c) => {
    const body = c.req.valid("json");
    const problem = webhookUrlProblem(body.url, c.req.url, devMode(c.env));
    if (problem) throw new ApiError("BAD_REQUEST", problem, [{ code: "custom", path: ["url"], message: problem }]);
    return answer(c, await registry(c.env).create(owner(c), body, idempotencyKey(c)), 201);
  })
  .get("/", async (c) => c.json({ webhooks: await registry(c.env).list(owner(c)) }))
  .get("/:id", idParam, async (c) => {
    const webhook = await registry(c.env).get(owner(c), c.req.valid("param").id);
    if (!webhook) throw missing();
    return c.json(webhook);
  })
  .delete("/:id", idParam, async (c) =>
    answer(c, await registry(c.env).remove(owner(c), c.req.valid("param").id, idempotencyKey(c))),
  )
  .post("/:id/rotate-secret", idParam, async (c) =>
    answer(c, await registry(c.env).rotateSecret(owner(c), c.req.valid("param").id, idempotencyKey(c))),
  )
  .get("/:id/deliveries", idParam, valid("query", WebhookDeliveriesQuerySchema), async (c) => {
    const { id } = c.req.valid("param");
    const deliveries = await registry(c.env).deliveries(owner(c), id, c.req.valid("query").limit);
    if (!deliveries) throw missing();
    return c.json({ deliveries });
  })
  .post("/:id/redeliver", idParam, limitBody, valid("json", RedeliverBodySchema), async (c) => {
    const { id } = c.req.valid("param");
    const { merchantId, sinceSeq } = c.req.valid("json");
    const covers = await registry(c.env).covers(owner(c), id, merchantId);
    if (covers === null) throw missing();
    if (!covers) throw new ApiError("BAD_REQUEST", `the webhook does not cover merchant ${merchantId}`);
    const room = merchantRoom(c.env, merchantId);
    const result = (await room.redeliverWebhook(id, sinceSeq)) as Result<{ sinceSeq: number }>;
    if (!result.ok) return respond(c, result);
    return c.json({ id, merchantId, sinceSeq }, 202);
  });
