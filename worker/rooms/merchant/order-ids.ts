const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `<merchantId>.<time><random>`: routable to its room, roughly time-ordered, unguessable enough. */
export function newOrderId(merchantId: string, now: Date): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  let suffix = "";
  for (const b of random) suffix += ID_ALPHABET[b % 36];
  return `${merchantId}.${now.getTime().toString(36)}${suffix}`;
}
