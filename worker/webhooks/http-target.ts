/**
 * The real POST of a webhook: no redirect followed (a 3xx is an answer, and not a 2xx), the
 * caller's timeout (its AbortSignal), and at most a few KB of the answer read, then dropped: an
 * endpoint cannot make the room read or hold a large body.
 */

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Aborted when the attempt times out. */
  signal: AbortSignal;
}

export interface WebhookResponse {
  status: number;
}

/** Where a webhook goes; tests put an endpoint of their own here (DeliveryTargets.webhook). */
export type WebhookTarget = (request: WebhookRequest) => Promise<WebhookResponse>;

/** Bytes of an endpoint's answer read at most. */
export const MAX_RESPONSE_BYTES = 4 * 1024;

export const postWebhook: WebhookTarget = async (request) => {
  const res = await fetch(request.url, {
    method: "POST",
    headers: request.headers,
    body: request.body,
    redirect: "manual",
    signal: request.signal,
  });
  await readAtMost(res.body, MAX_RESPONSE_BYTES);
  return { status: res.status };
};

/** Reads up to `limit` bytes (so the connection can be reused), then cancels the rest. */
async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read < limit) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
