/** Worker entry: the Hono app and the Durable Object classes. */
import { app } from "./app.ts";

export { MerchantOrderRoom } from "./rooms/merchant-order-room.ts";
export { OrderRoom } from "./rooms/order-room.ts";
export { CallerKeys } from "./rooms/caller-keys.ts";
export { PairingCodes } from "./rooms/pairing-codes.ts";
export { WebhookRegistry } from "./rooms/webhook-registry.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
