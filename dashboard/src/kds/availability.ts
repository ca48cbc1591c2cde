/**
 * The kitchen's availability in words (Additions v2): OPEN / BUSY / PAUSED, with when a timed
 * state ends and why — including why the room paused itself, so a screen coming back says so.
 * Each state has an icon shape and a word, never colour alone. Pure.
 */
import type { Actor, Availability } from "../../../schema/index.ts";
import { timeOfDay } from "../format.ts";
import type { NoticeDraft } from "./screen.ts";

export interface AvailabilityWords {
  mode: Availability["mode"];
  /** ● ▲ ■ */
  icon: string;
  /** For the top bar: "■ PAUSED · till 19:30". */
  short: string;
  /** For the banner and the panel: what it means for new orders. */
  long: string;
  /** Why, in words ("Paused automatically: 3 orders in a row expired unanswered"); null if nobody said. */
  why: string | null;
  /** The room paused itself. */
  auto: boolean;
}

/** The room marks its own pauses `reason: "auto"` (the why in `detail`). */
export function isAutoPause(a: Availability): boolean {
  return a.mode === "PAUSED" && /^auto\b/i.test(a.reason ?? "");
}

export function describeAvailability(a: Availability): AvailabilityWords {
  const till = a.until ? ` · till ${timeOfDay(a.until)}` : "";
  const auto = isAutoPause(a);
  const said = a.detail ?? a.reason?.replace(/^auto:?\s*/i, "").trim();
  const why = auto ? `Paused automatically${said ? `: ${said}` : ""}` : a.reason ? `Reason: ${a.reason}` : null;
  switch (a.mode) {
    case "OPEN":
      return { mode: a.mode, icon: "●", short: "● OPEN", long: "Open — taking orders.", why: null, auto };
    case "BUSY": {
      const extra = a.extraPrepMinutes ?? 0;
      return {
        mode: a.mode,
        icon: "▲",
        short: `▲ BUSY +${extra}${till}`,
        long: `Busy — new orders get +${extra} min prep time${a.until ? ` until ${timeOfDay(a.until)}` : ""}.`,
        why,
        auto,
      };
    }
    case "PAUSED":
      return {
        mode: a.mode,
        icon: "■",
        short: `■ PAUSED${till}`,
        long: `Paused — new orders are refused ${a.until ? `until ${timeOfDay(a.until)}` : "until someone reopens"}.`,
        why,
        auto,
      };
  }
}

/**
 * A change no cook on a screen made — the room itself (auto-pause, a timed pause ending),
 * dispatch, a platform — is announced: the banner alone is easy to miss from the stove.
 */
export function availabilityNotice(a: Availability, actor: Actor): NoticeDraft | null {
  if (actor.role === "merchant") return null;
  const words = describeAvailability(a);
  const by = actor.role === "system" ? "" : ` (by ${actor.role})`;
  return {
    tone: a.mode === "PAUSED" ? "error" : a.mode === "BUSY" ? "warn" : "ok",
    title: `${words.icon} ${words.long}${by}`,
    lines: words.why ? [{ ok: a.mode !== "PAUSED", text: words.why }] : [],
    ttlMs: a.mode === "OPEN" ? 10_000 : 30_000,
  };
}
