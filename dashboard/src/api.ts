/**
 * The REST client (browser and Node: it only needs `fetch`). Answers are parsed with the
 * contract's schemas; refusals become ApiError with the contract's error code.
 */
import type { z } from "zod";
import {
  type DevTokenBody,
  type ErrorCode,
  ErrorResponseSchema,
  HealthResponseSchema,
  PairResponseSchema,
  RefreshResponseSchema,
} from "../../schema/index.ts";

export class ApiError extends Error {
  // Plain fields, not parameter properties: `npm run simulate` runs this file with Node's
  // type stripping, which only erases types.
  readonly status: number;
  readonly code: ErrorCode | "NETWORK";
  readonly details: unknown;

  constructor(status: number, code: ErrorCode | "NETWORK", message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface ApiClient {
  /** "" in the browser (same origin), "http://localhost:8787" from Node. */
  baseUrl: string;
  fetch: typeof fetch;
}

export function browserClient(): ApiClient {
  return { baseUrl: "", fetch: (input, init) => fetch(input, init) };
}

export interface CallOptions<T> {
  token?: string;
  body?: unknown;
  idempotencyKey?: string;
  schema?: z.ZodType<T>;
}

export async function apiCall<T = unknown>(
  client: ApiClient,
  method: string,
  path: string,
  opts: CallOptions<T> = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  let res: Response;
  try {
    res = await client.fetch(`${client.baseUrl}${path}`, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, "NETWORK", `network error: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const parsed = ErrorResponseSchema.safeParse(json);
    if (parsed.success)
      throw new ApiError(res.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.details);
    throw new ApiError(res.status, "INTERNAL", `HTTP ${res.status}`);
  }
  if (!opts.schema) return json as T;
  const parsed = opts.schema.safeParse(json);
  if (!parsed.success)
    throw new ApiError(res.status, "INTERNAL", `unexpected answer from ${method} ${path}`, parsed.error.issues);
  return parsed.data;
}

/** Local development only: a token for any role (404 when the Worker is deployed). */
export async function devToken(client: ApiClient, body: DevTokenBody): Promise<string> {
  const res = await apiCall<{ token: string }>(client, "POST", "/api/dev/token", { body });
  if (typeof res?.token !== "string") throw new ApiError(200, "INTERNAL", "no token in the answer");
  return res.token;
}

/** Whether dev tokens are on: `GET /api/health` says so (the `dev` flag is off when deployed). */
export async function devModeAvailable(client: ApiClient): Promise<boolean> {
  try {
    const health = HealthResponseSchema.safeParse(await apiCall(client, "GET", "/api/health"));
    return health.success && health.data.dev === true;
  } catch {
    return false;
  }
}

/** Pairs this screen with a code from the operator (CONTRACT.md Additions v2). */
export function pairDevice(client: ApiClient, code: string, deviceName: string) {
  return apiCall(client, "POST", "/api/pair", { body: { code, deviceName }, schema: PairResponseSchema });
}

/**
 * Renews a paired screen's tokens. The caller keeps `idempotencyKey` until an answer arrives:
 * the same request repeated after a lost answer gets the same refresh token back, while any
 * other use of a spent one signs the screen out.
 */
export function refreshDevice(client: ApiClient, refreshToken: string, idempotencyKey: string) {
  return apiCall(client, "POST", "/api/devices/refresh", {
    body: { refreshToken },
    idempotencyKey,
    schema: RefreshResponseSchema,
  });
}
