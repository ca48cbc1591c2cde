export * from "./order.ts";
export * from "./transitions.ts";
export * from "./errors.ts";
export * from "./rest.ts";
export * from "./ws.ts";
export * from "./webhooks.ts";
