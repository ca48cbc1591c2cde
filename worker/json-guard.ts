/**
 * Prototype-poisoning keys in client JSON. No REST body or socket frame of ours has a field named
 * `__proto__`, `constructor` or `prototype`; such keys only ever arrive to poison objects that
 * some later merge or spread copies them into. JSON.parse itself is safe (it makes them own
 * properties), and zod drops unknown keys, but refusing them at the edge means no future code
 * path can trip over one: the rule Fastify applies by default (onProtoPoisoning: "error").
 */
const POISON_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** The first poisoning key anywhere in a parsed JSON value, or null. Iterative: depth is no risk. */
export function findPoisonedKey(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    for (const key of Object.keys(v)) {
      if (POISON_KEYS.has(key)) return key;
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return null;
}
