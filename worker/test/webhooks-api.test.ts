/**
 * `/api/webhooks` as CONTRACT.md says: create (the secret shown once), list / read (never the
 * secret), remove, rotate, deliveries log; only platform and dispatch, each seeing only its own
 * subscriptions (another owner's is 404); URLs https only when deployed, loopback http in dev,
 * never the Worker itself; Idempotency-Key answered like every mutating route.
 */
import { describe, expect, it } from "vitest";
import { type CreatedWebhook, WebhookListResponseSchema, WebhookSchema } from "../../schema/index.ts";
import { webhookUrlProblem } from "../webhooks/url-policy.ts";
import { expectError, expectZod400 } from "./support/assertions.ts";
import { tokens } from "./support/credentials.ts";
import { setupMerchant } from "./support/fixtures.ts";
import { BASE, api } from "./support/http.ts";

const URL_OK = "https://hooks.platform.example/ticket-rail";

async function create(token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return api<CreatedWebhook>("POST", "/api/webhooks", { token, body, headers });
}

describe("webhook subscriptions", () => {
  it("are created with a secret shown once, read and listed without it, and removed", async () => {
    const token = await tokens.platform("p-crud");
    const { merchantId } = await setupMerchant();
    const all = await create(token, { url: URL_OK });
    expect(all.status).toBe(201);
    expect(all.body).toMatchObject({ url: URL_OK, events: null, merchantIds: null, status: "active", failing: [] });
    expect(all.body.id).toMatch(/^wh_[A-Za-z0-9]{24}$/);
    expect(all.body.secret).toMatch(/^whsec_/);
    const some = await create(token, { url: URL_OK, events: ["ORDER_CREATED"], merchantIds: [merchantId] });
    expect(some.body).toMatchObject({ events: ["ORDER_CREATED"], merchantIds: [merchantId] });

    const one = await api("GET", `/api/webhooks/${all.body.id}`, { token });
    expect(one.status).toBe(200);
    expect(WebhookSchema.strict().parse(one.body)).toEqual(one.body);
    expect(JSON.stringify(one.body)).not.toContain(all.body.secret);
    const list = await api("GET", "/api/webhooks", { token });
    expect(WebhookListResponseSchema.parse(list.body).webhooks.map((w) => w.id)).toEqual([all.body.id, some.body.id]);
    expect(JSON.stringify(list.body)).not.toContain("whsec_");

    const removed = await api("DELETE", `/api/webhooks/${all.body.id}`, { token });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ id: all.body.id, deleted: true });
    expectError(await api("GET", `/api/webhooks/${all.body.id}`, { token }), 404, "NOT_FOUND");
    expectError(await api("DELETE", `/api/webhooks/${all.body.id}`, { token }), 404, "NOT_FOUND");
    const deliveries = await api("GET", `/api/webhooks/${some.body.id}/deliveries`, { token });
    expect(deliveries.body).toEqual({ deliveries: [] });
  });

  it("are their owner's: another caller gets 404, other roles 403, no token 401", async () => {
    const owner = await tokens.platform("p-owner");
    const hook = (await create(owner, { url: URL_OK })).body;
    const paths: Array<[string, string, unknown?]> = [
      ["GET", `/api/webhooks/${hook.id}`],
      ["DELETE", `/api/webhooks/${hook.id}`],
      ["POST", `/api/webhooks/${hook.id}/rotate-secret`],
      ["GET", `/api/webhooks/${hook.id}/deliveries`],
      ["POST", `/api/webhooks/${hook.id}/redeliver`, { merchantId: "m-1", sinceSeq: 0 }],
    ];
    // Another platform, and dispatch with the same sub: not the owner.
    for (const stranger of [await tokens.platform("p-other"), await tokens.dispatch("p-owner")]) {
      for (const [method, path, body] of paths)
        expectError(await api(method, path, { token: stranger, body }), 404, "NOT_FOUND");
      expect((await api("GET", "/api/webhooks", { token: stranger })).body).toEqual({ webhooks: [] });
    }
    const { staff } = await setupMerchant();
    for (const token of [await tokens.customer(), await tokens.driver(), staff]) {
      expectError(await create(token, { url: URL_OK }), 403, "FORBIDDEN");
      expectError(await api("GET", "/api/webhooks", { token }), 403, "FORBIDDEN");
      for (const [method, path, body] of paths) expectError(await api(method, path, { token, body }), 403, "FORBIDDEN");
    }
    expectError(await api("GET", "/api/webhooks"), 401, "UNAUTHORIZED");
    // Dispatch manages its own.
    const mine = await create(await tokens.dispatch(), { url: URL_OK });
    expect(mine.status).toBe(201);
    // The owner still has it, untouched.
    expect((await api("GET", `/api/webhooks/${hook.id}`, { token: owner })).status).toBe(200);
  });

  it("validate their body and URL", async () => {
    const token = await tokens.platform("p-valid");
    expectZod400(await create(token, {}), ["url"]);
    expectZod400(await create(token, { url: URL_OK, events: ["ORDER_EATEN"] }), ["events", 0]);
    expectZod400(await create(token, { url: URL_OK, events: [] }), ["events"]);
    expectZod400(await create(token, { url: URL_OK, merchantIds: ["a", "a"] }), ["merchantIds"]);
    expectZod400(await create(token, { url: URL_OK, merchantIds: ["not an id"] }), ["merchantIds", 0]);
    for (const url of [
      "not a url",
      "ftp://files.example/x",
      "http://hooks.example/x", // http is for local development's loopback only
      "https://user:pass@hooks.example/x",
      `${BASE.replace("http:", "https:")}/api/webhooks`, // the Worker itself
    ]) {
      expectZod400(await create(token, { url }), ["url"]);
    }
    // In local development (the tests run with DEV_MODE), loopback http is fine.
    for (const url of ["http://localhost:9999/hook", "http://127.0.0.1:4000/x"]) {
      expect((await create(token, { url })).status, url).toBe(201);
    }
  });

  it("answer a repeated Idempotency-Key with the first result (the same secret), another body 422", async () => {
    const token = await tokens.platform("p-idem");
    const key = { "Idempotency-Key": "create-hook-1" };
    const first = await create(token, { url: URL_OK }, key);
    const again = await create(token, { url: URL_OK }, key);
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await api("GET", "/api/webhooks", { token })).body.webhooks).toHaveLength(1);
    expectError(await create(token, { url: `${URL_OK}/2` }, key), 422, "IDEMPOTENCY_MISMATCH");

    const rotate = (k: string) =>
      api("POST", `/api/webhooks/${first.body.id}/rotate-secret`, { token, headers: { "Idempotency-Key": k } });
    const r1 = await rotate("rotate-1");
    expect((await rotate("rotate-1")).body).toEqual(r1.body);
    expect((await rotate("rotate-2")).body.secret).not.toBe(r1.body.secret);
  });
});

describe("the URL policy", () => {
  const deployed = "https://ticket-rail.example.com/api/webhooks";
  const local = "http://127.0.0.1:8787/api/webhooks";

  it("when deployed: https only, never the Worker's own host", () => {
    expect(webhookUrlProblem("https://hooks.example/x", deployed, false)).toBeNull();
    expect(webhookUrlProblem("http://hooks.example/x", deployed, false)).toMatch(/https/);
    expect(webhookUrlProblem("http://localhost:3000/x", deployed, false)).toMatch(/https/);
    expect(webhookUrlProblem("https://ticket-rail.example.com/elsewhere", deployed, false)).toMatch(/itself/);
    expect(webhookUrlProblem("https://TICKET-RAIL.example.com:8443/x", deployed, false)).toMatch(/itself/);
  });

  it("in local development: loopback http too, never the dev server itself under any loopback name", () => {
    expect(webhookUrlProblem("http://127.0.0.1:4000/x", local, true)).toBeNull();
    expect(webhookUrlProblem("http://localhost:4000/x", local, true)).toBeNull();
    expect(webhookUrlProblem("http://10.0.0.5/x", local, true)).toMatch(/localhost/);
    expect(webhookUrlProblem("http://127.0.0.1:8787/x", local, true)).toMatch(/itself/);
    expect(webhookUrlProblem("http://localhost:8787/hook", local, true)).toMatch(/itself/);
  });
});
