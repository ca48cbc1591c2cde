/** Kept only for socket-latency.test.ts (another owner's file): the socket helpers live in support/sockets.ts. */
export {
  act,
  barrier,
  checkFrames,
  openMerchantSocket,
  openOrderSocket,
  rid,
  streamCount,
  waitFor,
} from "./support/sockets.ts";
