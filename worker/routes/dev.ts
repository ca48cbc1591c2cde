/** Local development only: mint tokens. Answers 404 unless DEV_MODE is set (only .dev.vars sets it). */
import { Hono } from "hono";
import { DevTokenBodySchema } from "../../schema/index.ts";
import { authSecret, issueToken } from "../auth.ts";
import { ApiError, limitBody, valid } from "../http.ts";
import type { AppEnv } from "./context.ts";

export function devMode(env: Env): boolean {
  return env.DEV_MODE === "true";
}

export const devRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!devMode(c.env)) throw new ApiError("NOT_FOUND", "not found");
    await next();
  })
  .post("/token", limitBody, valid("json", DevTokenBodySchema), async (c) => {
    const { role, sub, merchantId } = c.req.valid("json");
    const token = await issueToken({ role, sub, ...(role === "merchant" ? { merchantId } : {}) }, authSecret(c.env));
    return c.json({ token });
  });
