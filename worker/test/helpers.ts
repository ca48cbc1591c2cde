/**
 * Kept only for the sign-in tests (devices, jwks, pairing, pairing-limits, device-support), written
 * before support/ existed: every helper lives in support/, one module per idea, and new tests
 * import from there. Delete this file once those do too.
 */
export { token, tokens } from "./support/credentials.ts";
export { flushOutbox, ITEMS, merchantStub, orderStub, placeOrder, setupMerchant } from "./support/fixtures.ts";
export { type ApiResponse, api, BASE, SECRET, uniqueId } from "./support/http.ts";
export { inMerchantRoom } from "./support/room-seams.ts";
export { connect, open, TestSocket } from "./support/sockets.ts";
