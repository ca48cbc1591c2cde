/**
 * What the board's forms and inputs mean, as Actions (the buttons say it with `actionButton`):
 * the 86 form, the station picker, the auto-print switch. And the station in the address, so
 * `/?station=grill` opens a station's screen and a reload keeps it.
 */
import type { Action } from "../actions.ts";

/** The Action a submit or change event stands for; null when it is none of the board's. */
export function formAction(e: Event): Action | null {
  const target = e.target as HTMLElement | null;
  if (!target) return null;
  if (e.type === "submit" && target instanceof HTMLFormElement && target.dataset.form === "eighty-six") {
    const name = new FormData(target).get("item");
    return typeof name === "string" && name.trim() ? { kind: "eighty-six", name: name.trim() } : null;
  }
  if (e.type !== "change") return null;
  if (target instanceof HTMLSelectElement && target.dataset.input === "station")
    return { kind: "pick-station", station: target.value || null };
  if (target instanceof HTMLInputElement && target.dataset.input === "auto-print") return { kind: "auto-print" };
  return null;
}

export function stationFromUrl(): string | null {
  return new URLSearchParams(location.search).get("station") || null;
}

export function showStationInUrl(station: string | null): void {
  const url = new URL(location.href);
  if (station) url.searchParams.set("station", station);
  else url.searchParams.delete("station");
  history.replaceState(history.state, "", url);
}
