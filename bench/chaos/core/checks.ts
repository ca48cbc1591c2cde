/**
 * The checks a chaos run reports, by name, and the registry that collects their problems and the
 * three numbers every run ends with: events lost, duplicated and diverged.
 */

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** Every check of a chaos run, in the order they are reported. */
export const CHECKS = {
  deadlines: "every order left unaccepted expired at its deadline (alarms survive restarts)",
  streams: "every screen received every seq exactly once, in order",
  views: "every screen's view equals the merchant room's board",
  screensAgree: "screens of one merchant saw identical streams, equal to the room's audit trail",
  changes: "every committed change has exactly one event, no event lacks a change",
  table: "every order moved only along the contract's table",
  retries: "every idempotent retry applied once and answered as the first time",
  trackers: "every customer socket's last order equals the room's",
  orderRooms: "every order room holds the merchant room's version",
  projection: "D1 equals the rooms (every order's history row)",
  json: "every answer was JSON",
  sameAnswer: "idempotent retries answer as the first time",
  races: "races on one order have at most one winner",
} as const;
export type CheckName = keyof typeof CHECKS;

/** Problems found, per check; a check with none passed. */
export class Checks {
  /** Events a client should have had and did not, had twice, or had other than the room's. */
  readonly tally = { lost: 0, duplicated: 0, diverged: 0 };
  private readonly byName = new Map<string, { label: string; problems: string[] }>();

  /** Reports the given checks (all by default), in that order, even those that find nothing. */
  constructor(names: readonly CheckName[] = Object.keys(CHECKS) as CheckName[]) {
    for (const name of names) this.define(name, CHECKS[name]);
  }

  /** A check of the caller's own (a run's goals), reported under `label`. */
  define(name: string, label: string): void {
    if (!this.byName.has(name)) this.byName.set(name, { label, problems: [] });
  }

  fail(name: CheckName | string, detail: string): void {
    this.define(name, name in CHECKS ? CHECKS[name as CheckName] : name);
    this.byName.get(name)?.problems.push(detail);
  }

  /** Every check with its problems, in the order defined. */
  results(): { label: string; problems: string[] }[] {
    return [...this.byName.values()];
  }

  /** Every problem as one line, `label: problem` (what a test asserts empty). */
  failures(): string[] {
    return this.results().flatMap(({ label, problems }) => problems.map((p) => `${label}: ${p}`));
  }
}

/** A seeded generator (mulberry32) and the draws a chaos run makes from it: printed seed, same run. */
export function seededRandom(seed: number) {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    random,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!,
    chance: (p: number): boolean => random() < p,
    between: (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1)),
  };
}
export type Rng = ReturnType<typeof seededRandom>;
