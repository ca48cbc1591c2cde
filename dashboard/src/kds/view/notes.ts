/**
 * Notes with their allergen mentions marked — an icon (a picture drawn by the stylesheet, so the
 * note's text stays exactly as typed) and the word, bold and underlined, never colour alone.
 */
import { type Child, h } from "../../dom.ts";
import type { NotePart } from "../allergens.ts";

export function noteText(parts: readonly NotePart[]): Child[] {
  return parts.map((p) =>
    p.allergen ? h("mark", { class: "allergen", "data-allergen": p.allergen, title: "Allergen" }, p.text) : p.text,
  );
}

/** "⚠ ALLERGY: PEANUT, GLUTEN" — on the card and on both printed slips. */
export function allergyBadge(words: readonly string[]): HTMLElement | null {
  if (words.length === 0) return null;
  return h(
    "p",
    { class: "allergy", "data-allergens": words.join(",") },
    h("span", { class: "allergy-icon", "aria-hidden": "true" }, "⚠"),
    h("strong", {}, "ALLERGY: "),
    words.map((w) => w.toUpperCase()).join(", "),
  );
}
