/**
 * What a webhook carries and how it is signed: the Standard Webhooks headers, the contract's body,
 * and signatures that verify with two independent verifiers — the spec's own npm package
 * (`standardwebhooks`) and a second implementation here on WebCrypto — including both signatures
 * during a secret rotation, and only the new one once the 24 h overlap is over.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { type RotateSecretResponse, WebhookPayloadSchema } from "../../schema/index.ts";
import { REGISTRY_NAME } from "../rooms/webhook-registry.ts";
import {
  drain,
  platformToken,
  type ReceivedWebhook,
  serveWebhooks,
  subscribe,
  TestEndpoint,
} from "./webhook-support.ts";
import { merchantStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { merchantLog } from "./support/room-seams.ts";

/** A second verifier, written from the spec: HMAC-SHA256 over "id.timestamp.body" with the secret's bytes. */
async function verifiesWithWebCrypto(secret: string, hook: ReceivedWebhook): Promise<boolean> {
  const keyBytes = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${hook.id}.${hook.timestamp}.${hook.body}`),
  );
  const expected = btoa(String.fromCharCode(...new Uint8Array(mac)));
  return hook.signature.split(" ").some((s) => s === `v1,${expected}`);
}

function verifiesWithPackage(secret: string, hook: ReceivedWebhook, body = hook.body): boolean {
  try {
    new Webhook(secret).verify(body, hook.headers);
    return true;
  } catch {
    return false;
  }
}

async function setup() {
  const { merchantId, staff } = await setupMerchant();
  const endpoint = new TestEndpoint();
  await serveWebhooks(merchantId, endpoint);
  const webhook = await subscribe([merchantId]);
  await merchantStub(merchantId).deliverPending(); // the room learns of the subscription now
  return { merchantId, staff, endpoint, webhook };
}

describe("webhook messages", () => {
  it("carry the contract's body and the Standard Webhooks headers, signed so that both verifiers accept them", async () => {
    const { merchantId, endpoint, webhook } = await setup();
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/); // 32 random bytes
    const order = await placeOrder(merchantId);
    await drain(merchantId);
    expect(endpoint.received).toHaveLength(1);
    const [hook] = endpoint.received as [ReceivedWebhook];
    const [logged] = await merchantLog(merchantId);

    expect(hook.url).toBe("https://receiver.example/hooks");
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.id).toBe(`${merchantId}:${logged!.seq}`);
    expect(Math.abs(Number(hook.timestamp) - Date.now() / 1000)).toBeLessThan(30);
    expect(hook.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(WebhookPayloadSchema.parse(hook.payload)).toEqual(hook.payload);
    expect(hook.payload).toEqual({
      type: "ORDER_CREATED",
      timestamp: order.placedAt,
      data: { merchantId, seq: logged!.seq, order, actor: { role: "customer", id: "cust-1" } },
    });

    expect(verifiesWithPackage(webhook.secret, hook)).toBe(true);
    expect(await verifiesWithWebCrypto(webhook.secret, hook)).toBe(true);
    // A changed body, or another secret, does not verify.
    expect(verifiesWithPackage(webhook.secret, hook, hook.body.replace("ORDER_CREATED", "ORDER_CANCELLED"))).toBe(
      false,
    );
    const other = await subscribe([merchantId]);
    expect(verifiesWithPackage(other.secret, hook)).toBe(false);
    expect(await verifiesWithWebCrypto(other.secret, hook)).toBe(false);
  });

  it("during a rotation carry both signatures (each secret verifies alone); after 24 h only the new one", async () => {
    const { merchantId, staff, endpoint, webhook } = await setup();
    const order = await placeOrder(merchantId);
    const rotated = await api<RotateSecretResponse>("POST", `/api/webhooks/${webhook.id}/rotate-secret`, {
      token: await platformToken(),
    });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret;
    expect(fresh).not.toBe(webhook.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    await merchantStub(merchantId).deliverPending(); // past the room's cache of the secrets
    const m = `/api/merchants/${merchantId}/orders/${order.id}`;
    expect((await api("POST", `${m}/accept`, { token: staff })).status).toBe(200);
    await drain(merchantId);
    const during = endpoint.received.at(-1)!;
    expect(during.payload.type).toBe("MERCHANT_ACCEPTED");
    expect(during.signature.split(" ")).toHaveLength(2);
    for (const secret of [webhook.secret, fresh]) {
      expect(verifiesWithPackage(secret, during)).toBe(true);
      expect(await verifiesWithWebCrypto(secret, during)).toBe(true);
    }

    // A day later the old secret has stopped signing.
    const registry = env.WEBHOOK_REGISTRY.get(env.WEBHOOK_REGISTRY.idFromName(REGISTRY_NAME));
    await runInDurableObject(registry, (r) => {
      r.clock = () => Date.now() + 24 * 3600_000 + 60_000;
    });
    try {
      await merchantStub(merchantId).deliverPending();
      expect((await api("POST", `${m}/preparing`, { token: staff })).status).toBe(200);
      await drain(merchantId);
      const after = endpoint.received.at(-1)!;
      expect(after.payload.type).toBe("MERCHANT_PREPARING");
      expect(after.signature.split(" ")).toHaveLength(1);
      expect(verifiesWithPackage(fresh, after)).toBe(true);
      expect(verifiesWithPackage(webhook.secret, after)).toBe(false);
    } finally {
      await runInDurableObject(registry, (r) => {
        r.clock = () => Date.now();
      });
    }
  });
});
