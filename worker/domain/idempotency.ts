/** How long an idempotency key is remembered: the contract promises at least 24 h. */
export const IDEMPOTENCY_TTL_MS = 25 * 60 * 60 * 1000;
