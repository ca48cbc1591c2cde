/**
 * The chaos core: the pure logic of a chaos run, shared by the long run against a real
 * `wrangler dev` (`npm run chaos`, bench/chaos/) and the short one inside workerd
 * (worker/test/chaos.test.ts). Stream bookkeeping (stream.ts), the ledger of operations and
 * answers (ledger.ts), and the checks — by name (checks.ts) — that count events lost, duplicated
 * and diverged (stream.ts, audit.ts). No Node or Workers APIs: each harness brings its own
 * sockets, HTTP and faults.
 */
export * from "./audit.ts";
export * from "./checks.ts";
export * from "./ledger.ts";
export * from "./stream.ts";
