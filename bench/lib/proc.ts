/**
 * What the bench reads about running processes and the machine from Linux's /proc: processes (a
 * group's members, a tree's), CPU time per process, whether the servers have gone idle, pressure.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { sleep } from "./common.ts";

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | string): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot: a pid reused by another process will not match. */
  started: string;
  cmdline: string;
}

/** Every process of the machine, by pid. */
export function processes(): Map<number, Proc> {
  const all = new Map<number, Proc>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(entry);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      all.set(Number(entry), {
        pid: Number(entry),
        ppid: Number(f[1]),
        pgid: Number(f[2]),
        started: f[19] ?? "",
        cmdline,
      });
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

/** The processes in a process group, with their command lines. */
export function processesOfGroup(pgid: number): Proc[] {
  return [...processes().values()].filter((p) => p.pgid === pgid);
}

/** `root` and everything below it, whatever process group each one is in. */
export function descendants(root: number): Proc[] {
  const all = [...processes().values()];
  const found: Proc[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const parent = pid;
    const p = all.find((x) => x.pid === parent);
    if (p) found.push(p);
    for (const child of all) if (child.ppid === parent) queue.push(child.pid);
  }
  return found;
}

/** Still the same process (not gone, its pid not reused)? */
export const stillRunning = (p: Proc): boolean => processes().get(p.pid)?.started === p.started;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (ms) a process has used so far, or null if it is gone: the scheduler's own account of
 * each of its threads (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds), so one operation's few
 * milliseconds are measurable; where that is missing, user + system time from /proc/<pid>/stat,
 * which counts in ticks of 10 ms.
 */
export function cpuMsOf(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    if (ns > 0) return ns / 1e6;
  } catch {
    // no schedstat here: ticks below
  }
  try {
    const fields = statFields(pid);
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU ms of several processes together (a gone one counts 0). */
export const cpuMsOfAll = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + (cpuMsOf(pid) ?? 0), 0);

/**
 * Waits until the given server processes are nearly idle (under `idlePct` of one core over a
 * `windowMs` window), so a scenario starts after the previous one's background work (outbox
 * relays, D1 projection) has drained. Returns how long that took, or null after `maxMs`.
 */
export async function waitQuiet(
  pids: readonly number[],
  { idlePct = 10, windowMs = 300, maxMs = 60_000 } = {},
): Promise<number | null> {
  const started = Date.now();
  let prev = cpuMsOfAll(pids);
  while (Date.now() - started < maxMs) {
    await sleep(windowMs);
    const cur = cpuMsOfAll(pids);
    if (((cur - prev) / windowMs) * 100 < idlePct) return Date.now() - started;
    prev = cur;
  }
  return null;
}

export interface Pressure {
  cpu_some_avg10_pct: number | null;
  io_some_avg10_pct: number | null;
}

/**
 * Linux pressure stall information: the share of the last 10 s in which some task waited for a
 * CPU (or for I/O). On a shared machine this says how much of a run's noise came from others.
 */
export function pressure(): Pressure {
  const read = (kind: string) => {
    try {
      const m = /some avg10=([\d.]+)/.exec(fs.readFileSync(`/proc/pressure/${kind}`, "utf8"));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  };
  return { cpu_some_avg10_pct: read("cpu"), io_some_avg10_pct: read("io") };
}
