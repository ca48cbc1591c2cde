/**
 * Requests through the Worker as a client sends them (`exports.default.fetch`), or to the Hono app
 * with a changed env (the deployed configuration, a missing secret), read back as JSON.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { app } from "../../app.ts";

export const BASE = "http://ticket-rail.test";
export const SECRET = (env as unknown as { AUTH_SECRET: string }).AUTH_SECRET;

/** A fresh id, so that no two tests share a room. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Reads a Response as `{ status, body, headers }`; a body that is not JSON stays text. */
export async function asApiResponse<T = any>(res: Response): Promise<ApiResponse<T>> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text: some tests assert it is never HTML
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export interface ApiOptions {
  token?: string;
  /** JSON-encoded unless it is a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

function request(method: string, opts: ApiOptions): RequestInit {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  return { method, headers, ...(body !== undefined ? { body } : {}) };
}

/** One REST call through the Worker. */
export async function api<T = any>(method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse<T>> {
  return asApiResponse<T>(await exports.default.fetch(`${BASE}${path}`, request(method, opts)));
}

/**
 * One call to the app with `envPatch` over the test env: `{ DEV_MODE: undefined }` is the
 * deployed configuration, `{ AUTH_SECRET: undefined }` a deploy that forgot its secret.
 */
export async function callApp<T = any>(
  envPatch: Record<string, unknown>,
  method: string,
  path: string,
  opts: ApiOptions = {},
): Promise<ApiResponse<T>> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${BASE}${path}`, request(method, opts)),
    { ...env, ...envPatch } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return asApiResponse<T>(res);
}

/** The Worker exactly as deployed: wrangler.toml's vars, a real secret, no DEV_MODE. */
export const DEPLOYED = { DEV_MODE: undefined };
