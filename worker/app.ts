/** The Worker's HTTP surface: REST, socket upgrades, dev helpers; one JSON error shape for all. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, codeForStatus, errorJson, limitBody, refusePoisonedJson } from "./http.ts";
import type { AppEnv } from "./routes/context.ts";
import { merchantRoom } from "./routes/context.ts";
import { ordersRoutes } from "./routes/orders.ts";
import { customersRoutes } from "./routes/customers.ts";
import { merchantOrdersRoutes } from "./routes/merchant-orders.ts";
import { merchantsRoutes } from "./routes/merchants.ts";
import { socketRoutes } from "./routes/sockets.ts";
import { webhooksRoutes } from "./routes/webhooks.ts";
import { devMode, devRoutes } from "./routes/dev.ts";
import { deviceRoutes, pairingRoutes } from "./routes/devices.ts";
import type { Principal } from "./domain/changes.ts";
import { errorField, log, stackField } from "./log.ts";

/** The demo merchant `npm run dev` promises; created once per isolate, in dev mode only. */
let demoSeeded = false;
const DEV_SEED: Principal = { role: "system", id: "dev-seed" };

export const app = new Hono<AppEnv>()
  // Every API request, including those whose route reads no body: an oversized Content-Length
  // is refused (413) before auth, validation or any room is touched. Not on /ws/*: upgrades carry
  // no body, and 101 responses must pass through untouched.
  .use("/api/*", limitBody, refusePoisonedJson)
  .use(async (c, next) => {
    if (!demoSeeded && devMode(c.env)) {
      demoSeeded = true;
      const room = merchantRoom(c.env, "demo");
      if (!(await room.getMerchant()))
        await room.upsertMerchant({ principal: DEV_SEED, via: "system" }, "demo", { name: "Demo Kitchen" });
    }
    await next();
  })
  .get("/api/health", (c) => c.json({ ok: true, dev: devMode(c.env) }))
  .route("/api/dev", devRoutes)
  .route("/api/orders", ordersRoutes)
  .route("/api/customers", customersRoutes)
  .route("/api/merchants", merchantOrdersRoutes)
  .route("/api/merchants", merchantsRoutes)
  .route("/api/merchants", deviceRoutes)
  .route("/api", pairingRoutes)
  .route("/api/webhooks", webhooksRoutes)
  .route("/ws", socketRoutes)
  .all("/api/*", () => errorJson({ code: "NOT_FOUND", message: "no such route" }))
  .all("/ws/*", () => errorJson({ code: "NOT_FOUND", message: "no such socket path" }));

app.notFound(() => errorJson({ code: "NOT_FOUND", message: "not found" }));

app.onError((err, c) => {
  if (err instanceof ApiError) {
    return errorJson({
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
    });
  }
  if (err instanceof HTTPException) {
    return errorJson({ code: codeForStatus(err.status), message: err.message || "request refused" });
  }
  // Never a stack trace to the client; the log has it.
  log("error", "request failed", {
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    error: errorField(err),
    stack: stackField(err),
  });
  return errorJson({ code: "INTERNAL", message: "internal error" });
});
