/**
 * The contract's answers (CONTRACT.md "REST"): JSON, and every error exactly
 * `{ "error": { "code", "message", "details"? } }` — never HTML, never a stack trace.
 */
import { expect } from "vitest";
import { type ErrorCode, ErrorResponseSchema } from "../../../schema/index.ts";
import type { ApiResponse } from "./http.ts";

/** Asserts raw response text is JSON, not HTML, and carries no stack trace. */
export function expectJsonNotHtml(status: number, contentType: string | null, text: string): void {
  expect(contentType ?? "", `status ${status}: ${text.slice(0, 200)}`).toMatch(/^application\/json/);
  expect(text).not.toMatch(/<html|<!doctype/i);
  expect(text).not.toMatch(/\n\s+at \S|\bat \S+ \(\S+:\d+:\d+\)/);
}

/** Asserts a JSON response with this status. */
export function expectJson(res: ApiResponse, status: number, context = ""): void {
  const text = typeof res.body === "string" ? res.body : JSON.stringify(res.body);
  expect(res.status, `${context} → ${text.slice(0, 300)}`).toBe(status);
  expect(res.headers.get("Content-Type") ?? "", context).toMatch(/^application\/json/);
  expect(typeof res.body, `${context}: body is not JSON: ${text.slice(0, 200)}`).toBe("object");
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Asserts exactly `{ error: { code, message, details? } }` with this status and code; returns the error. */
export function expectError(res: ApiResponse, status: number, code: ErrorCode, context = ""): ErrorBody {
  expectJson(res, status, context);
  const text = JSON.stringify(res.body);
  expectJsonNotHtml(res.status, res.headers.get("Content-Type"), text);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body), context).toEqual(["error"]);
  expect(ErrorResponseSchema.strict().safeParse(body).success, `${context}: ${text}`).toBe(true);
  const error = body.error as ErrorBody;
  for (const key of Object.keys(error)) expect(["code", "message", "details"], context).toContain(key);
  expect(error.code, context).toBe(code);
  expect(error.message.length, context).toBeGreaterThan(0);
  return error;
}

/** A 400 whose details are zod issues, one of which is at `path` (when given). */
export function expectZod400(res: ApiResponse, path?: (string | number)[]): void {
  const error = expectError(res, 400, "BAD_REQUEST");
  expect(Array.isArray(error.details), `details: ${JSON.stringify(error.details)}`).toBe(true);
  const issues = error.details as { path: (string | number)[]; message: string; code: string }[];
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(Array.isArray(issue.path)).toBe(true);
    expect(typeof issue.message).toBe("string");
    expect(typeof issue.code).toBe("string");
  }
  if (path)
    expect(
      issues.map((i) => i.path),
      JSON.stringify(issues),
    ).toContainEqual(path);
}

/** Asserts seq runs 1..N with no gap and no repeat. */
export function expectGapless(log: { seq: number }[]): void {
  expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
}
