/** The one error shape of the API, and the glue from room results to HTTP responses. */
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { zValidator } from "@hono/zod-validator";
import type { ZodType } from "zod";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "../schema/index.ts";
import type { Result } from "./rooms/merchant-order-room.ts";
import { findPoisonedKey } from "./json-guard.ts";

/** Thrown anywhere in a request; app.onError renders `{ error: { code, message, details? } }`. */
export class ApiError extends HTTPException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(ERROR_STATUS[code] as ConstructorParameters<typeof HTTPException>[0], { message });
  }
}

export function errorJson(error: ErrorBody): Response {
  return Response.json({ error }, { status: ERROR_STATUS[error.code] });
}

/** Maps an HTTPException thrown by Hono itself (e.g. malformed JSON) to our codes. */
export function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  return found ? found[0] : status >= 500 ? "INTERNAL" : "BAD_REQUEST";
}

/** Answers a room's Result: the value (with `status`) or its error. */
export function respond<T>(c: Context, result: Result<T>, status: 200 | 201 = 200): Response {
  return result.ok ? c.json(result.value as object, status) : errorJson(result.error);
}

/** Largest REST body accepted: a full 100-item order with notes fits comfortably. */
export const MAX_BODY_BYTES = 64 * 1024;

export const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("TOO_LARGE", `request body over ${MAX_BODY_BYTES} bytes`);
  },
});

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * zod validation of a request part; failures are 400 BAD_REQUEST with the zod issues.
 *
 * Hono's json validator reads a body whose Content-Type is not JSON as `{}`. A `fetch` without
 * headers sends `text/plain`, so an accept's `prepMinutes` would be silently dropped for the
 * merchant's default: a body that is there but not declared JSON is refused instead.
 */
export function valid<T extends ZodType, Target extends "json" | "query" | "param">(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (target === "json" && hasBody(c.req.raw)) {
      const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim();
      if (!JSON_MEDIA_TYPE.test(mediaType))
        throw new ApiError("BAD_REQUEST", "a request body must be JSON (Content-Type: application/json)");
    }
    if (!result.success)
      throw new ApiError("BAD_REQUEST", `invalid ${target === "json" ? "body" : target}`, result.error.issues);
  });
}

/**
 * Refuses a JSON body with a prototype-poisoning key anywhere in it (json-guard.ts), before any
 * route or schema sees it: zod would quietly drop such keys, and "quietly" is how a later merge
 * ends up copying one. Runs after the body limit, so it reads at most MAX_BODY_BYTES, and reads
 * a clone: the route's own middleware and validator still get an unread body.
 */
export const refusePoisonedJson: MiddlewareHandler = async (c, next) => {
  const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim();
  if (hasBody(c.req.raw) && JSON_MEDIA_TYPE.test(mediaType)) {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.raw.clone().text());
    } catch {
      // Malformed JSON is the validator's to report, with the route's own message.
    }
    const poisoned = findPoisonedKey(body);
    if (poisoned !== null) throw new ApiError("BAD_REQUEST", `a request body may not contain the key "${poisoned}"`);
  }
  await next();
};

function hasBody(request: Request): boolean {
  return request.body !== null && request.headers.get("Content-Length") !== "0";
}
