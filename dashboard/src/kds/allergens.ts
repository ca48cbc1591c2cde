/**
 * Allergens stand out on tickets and prints: item notes and order notes that mention one of the
 * merchant's allergen words (settings `allergens`, else a default list) are marked with an icon
 * and the word — never by colour alone. Pure.
 */
import type { Merchant } from "../../../schema/index.ts";

export const DEFAULT_ALLERGENS: readonly string[] = [
  "peanut",
  "nut",
  "gluten",
  "dairy",
  "shellfish",
  "egg",
  "soy",
  "sesame",
];

export function allergenWords(merchant: Merchant | null): readonly string[] {
  return merchant?.allergens?.length ? merchant.allergens : DEFAULT_ALLERGENS;
}

/** A piece of a note: plain text, or a mention of `allergen` (the list's word, as written there). */
export interface NotePart {
  text: string;
  allergen?: string;
}

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * One regex per word list: each word on its own (not inside another word: "nut" is not in
 * "peanut" or "nutmeg"), plurals included ("peanuts", "eggs"), longest words first.
 */
function matcher(words: readonly string[]): { re: RegExp; words: string[] } | null {
  const list = [...new Set(words.map((w) => w.trim()).filter(Boolean))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return null;
  const groups = list.map((w) => `(${literal(w)})`).join("|");
  return { re: new RegExp(`(?<![\\p{L}\\p{N}])(?:${groups})(?:e?s)?(?![\\p{L}\\p{N}])`, "giu"), words: list };
}

/** The note cut into plain text and allergen mentions, in order; joined, the parts are the note. */
export function allergenParts(text: string, words: readonly string[]): NotePart[] {
  const m = matcher(words);
  if (!m) return [{ text }];
  const parts: NotePart[] = [];
  let last = 0;
  for (const hit of text.matchAll(m.re)) {
    const at = hit.index ?? 0;
    if (at > last) parts.push({ text: text.slice(last, at) });
    const group = hit.slice(1).findIndex((g) => g !== undefined);
    parts.push({ text: hit[0], allergen: m.words[group] ?? hit[0] });
    last = at + hit[0].length;
  }
  if (last < text.length || parts.length === 0) parts.push({ text: text.slice(last) });
  return parts;
}

/** The allergen words a text mentions, once each, in the order they appear. */
export function allergensIn(text: string | undefined, words: readonly string[]): string[] {
  if (!text) return [];
  return [...new Set(allergenParts(text, words).flatMap((p) => (p.allergen ? [p.allergen] : [])))];
}
