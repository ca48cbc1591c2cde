/**
 * Webhook-test helpers: platform tokens, subscriptions over the real REST API, and endpoints
 * served inside the test. A TestEndpoint is put where the merchant room POSTs webhooks
 * (`deliveryTargets.webhook`, as faultyTargets wraps the other receivers), records every request
 * it gets and answers as the test says: 2xx, an error status, a failure for the next N requests,
 * or no answer at all (it hangs until the room's timeout aborts it).
 */
import { expect, vi } from "vitest";
import type { CreatedWebhook, Order, WebhookDelivery } from "../../schema/index.ts";
import type { WebhookRequest, WebhookResponse } from "../webhooks/http-target.ts";
import { token } from "./support/credentials.ts";
import { merchantStub } from "./support/fixtures.ts";
import { api } from "./support/http.ts";
import { inMerchantRoom } from "./support/room-seams.ts";

export const platformToken = (sub = "platform-1") => token("platform", sub);

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  body: string;
  payload: { type: string; timestamp: string; data: { merchantId: string; seq: number; order?: Order } };
  url: string;
  /** The status this request was answered with (null: it hung). */
  answered: number | null;
}

export class TestEndpoint {
  readonly received: ReceivedWebhook[] = [];
  /** The next N requests are answered 503. */
  failNext = 0;
  /** Every request is answered this. */
  status = 200;
  /** Requests hang (until the room aborts them). */
  hang = false;

  readonly target = async (req: WebhookRequest): Promise<WebhookResponse> => {
    const record: ReceivedWebhook = {
      id: req.headers["webhook-id"]!,
      timestamp: req.headers["webhook-timestamp"]!,
      signature: req.headers["webhook-signature"]!,
      headers: req.headers,
      body: req.body,
      payload: JSON.parse(req.body),
      url: req.url,
      answered: null,
    };
    this.received.push(record);
    if (this.hang) {
      await new Promise<never>((_, reject) => req.signal.addEventListener("abort", () => reject(new Error("aborted"))));
    }
    record.answered = this.status;
    if (this.failNext > 0) {
      this.failNext--;
      record.answered = 503;
    }
    return { status: record.answered };
  };

  /** The ids answered 2xx, in the order they were acknowledged. */
  acknowledged(): ReceivedWebhook[] {
    return this.received.filter((r) => r.answered !== null && r.answered >= 200 && r.answered < 300);
  }
}

/**
 * Points the merchant room's webhook POSTs at `endpoint`, or at one endpoint per URL (same
 * isolate: the test sees every request).
 */
export async function serveWebhooks(merchantId: string, endpoint: TestEndpoint | Record<string, TestEndpoint>) {
  const byUrl = endpoint instanceof TestEndpoint ? null : endpoint;
  const target = (req: WebhookRequest) => {
    const to = byUrl ? byUrl[req.url] : (endpoint as TestEndpoint);
    if (!to) throw new Error(`no test endpoint at ${req.url}`);
    return to.target(req);
  };
  await inMerchantRoom(merchantId, (room) => {
    room.deliveryTargets = { ...room.deliveryTargets, webhook: target };
    // Order rooms get every change at once here: these tests time webhooks against the other
    // receivers, not the wait of unwatched orders (relay-quiet.test.ts).
    room.relayQuietMs = 0;
  });
}

export async function subscribe(
  merchantIds: string[] | undefined,
  opts: { token?: string; events?: string[]; url?: string } = {},
): Promise<CreatedWebhook> {
  const res = await api<CreatedWebhook>("POST", "/api/webhooks", {
    token: opts.token ?? (await platformToken()),
    body: {
      url: opts.url ?? "https://receiver.example/hooks",
      ...(merchantIds ? { merchantIds } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Delivers now, ignoring backoff, until the room has nothing pending (every receiver current). */
export async function drain(merchantId: string, timeout = 20_000): Promise<void> {
  await vi.waitFor(async () => expect((await merchantStub(merchantId).deliverPending()).pending).toBe(0), {
    timeout,
    interval: 50,
  });
}

export async function deliveriesOf(webhookId: string, tok?: string): Promise<WebhookDelivery[]> {
  const res = await api<{ deliveries: WebhookDelivery[] }>("GET", `/api/webhooks/${webhookId}/deliveries?limit=200`, {
    token: tok ?? (await platformToken()),
  });
  expect(res.status).toBe(200);
  return res.body.deliveries;
}
