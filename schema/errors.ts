import { z } from "zod";

/** Error codes and the HTTP status each one is answered with (CONTRACT.md "REST"). */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  CONFLICT: 409,
  // Additions (v2), kitchen operations: a paused merchant, sold-out items in a placement.
  MERCHANT_PAUSED: 409,
  ITEMS_UNAVAILABLE: 409,
  TOO_LARGE: 413,
  IDEMPOTENCY_MISMATCH: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
} as const;

export const ErrorCodeSchema = z.enum(
  Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]],
);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Every refusal, REST or socket: `{ error: { code, message, details? } }`. */
export const ErrorResponseSchema = z.object({ error: ErrorBodySchema });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
