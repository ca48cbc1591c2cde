/** Allergen words in notes, pure: found as words (plurals too), never inside another word; the merchant's list wins. */
import { describe, expect, it } from "vitest";
import { allergenParts, allergensIn, allergenWords, DEFAULT_ALLERGENS } from "../src/kds/allergens.ts";

describe("allergens", () => {
  it("finds the default words, plurals included, case-insensitively", () => {
    expect(allergensIn("Severe PEANUT allergy, no nuts at all", DEFAULT_ALLERGENS)).toEqual(["peanut", "nut"]);
    expect(allergensIn("no eggs, gluten-free bun, soy sauce on the side", DEFAULT_ALLERGENS)).toEqual([
      "egg",
      "gluten",
      "soy",
    ]);
    expect(allergensIn("Dairy free; shellfish and sesame seeds", DEFAULT_ALLERGENS)).toEqual([
      "dairy",
      "shellfish",
      "sesame",
    ]);
  });

  it("never inside another word: nutmeg, doughnut, eggplant, soya-free are not allergens", () => {
    expect(allergensIn("extra nutmeg and a doughnut, eggplant", DEFAULT_ALLERGENS)).toEqual([]);
    expect(allergensIn(undefined, DEFAULT_ALLERGENS)).toEqual([]);
  });

  it("cuts a note into text and mentions that join back into the note", () => {
    const note = "No peanuts please — nut allergy!";
    const parts = allergenParts(note, DEFAULT_ALLERGENS);
    expect(parts).toEqual([
      { text: "No " },
      { text: "peanuts", allergen: "peanut" },
      { text: " please — " },
      { text: "nut", allergen: "nut" },
      { text: " allergy!" },
    ]);
    expect(parts.map((p) => p.text).join("")).toBe(note);
    expect(allergenParts("plain", DEFAULT_ALLERGENS)).toEqual([{ text: "plain" }]);
  });

  it("the merchant's list replaces the default; multi-word allergens and odd characters work", () => {
    const words = allergenWords({
      id: "m1",
      name: "x",
      acceptWindowSeconds: 600,
      defaultPrepMinutes: 15,
      allergens: ["tree nut", "celery", "c++"],
    });
    expect(words).toEqual(["tree nut", "celery", "c++"]);
    expect(allergensIn("Tree nuts and CELERY, peanut fine, c++ ok", words)).toEqual(["tree nut", "celery", "c++"]);
    expect(allergenWords(null)).toBe(DEFAULT_ALLERGENS);
  });
});
