/**
 * Kept only for chaos.test.ts, chaos-support.ts and socket-latency.test.ts (another owner's
 * files): every helper lives in support/, one module per idea, and new tests import from there.
 */
export { token, tokens } from "./support/credentials.ts";
export { flushOutbox, ITEMS, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
export { type ApiResponse, api, BASE, SECRET, uniqueId } from "./support/http.ts";
export { inMerchantRoom } from "./support/room-seams.ts";
export { connect, open, TestSocket } from "./support/sockets.ts";
