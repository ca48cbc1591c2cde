/** Keyset cursors for lists ordered by (placedAt, id): opaque to clients, checked when read. */
import { z } from "zod";
import { ApiError } from "../http.ts";

export function encodeCursor(cursor: { placedAt: string; id: string }): string {
  return btoa(JSON.stringify([cursor.placedAt, cursor.id]));
}

export function decodeCursor(raw: string): { placedAt: string; id: string } {
  try {
    const parsed = z.tuple([z.string(), z.string()]).parse(JSON.parse(atob(raw)));
    return { placedAt: parsed[0], id: parsed[1] };
  } catch {
    throw new ApiError("BAD_REQUEST", "cursor is not one this API issued");
  }
}
