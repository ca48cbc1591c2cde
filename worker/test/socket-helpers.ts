/** Kept only for the sign-in tests (devices, pairing): the socket helpers live in support/sockets.ts and support/frames.ts. */
export { checkFrames } from "./support/frames.ts";
export { act, barrier, openMerchantSocket, openOrderSocket, rid, streamCount, waitFor } from "./support/sockets.ts";
