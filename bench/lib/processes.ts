/**
 * The one process manager of `npm run bench` and `npm run chaos`. Every server it starts (`wrangler
 * dev`, or the production-shaped Miniflare host) runs in its own process group, so a stop takes
 * wrangler's Node process, esbuild and both workerd processes (or the host and its workerd) together; forked helpers (load processes, the `ws` baseline) are tracked too; and
 * cleanups (temp dirs, copying logs out) are registered here. `stopAll()` stops all of it, and
 * `stopOnSignals()` makes SIGINT, SIGTERM and SIGHUP do that before the script exits: a run ended by
 * Ctrl-C, `timeout`, a CI cancel, a service manager or a closed terminal leaves nothing running.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./common.ts";

export const REPO = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

const CHILD_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  NO_UPDATE_NOTIFIER: "1",
  CI: "1",
  FORCE_COLOR: "0",
};

/** Process-group ids (= pids of the detached leaders) of everything started and not yet gone. */
const groups = new Set<number>();
/** Forked helpers: they share our process group and go when we tell them (or when we go). */
const helpers = new Set<ChildProcess>();
/** Synchronous, so that even an 'exit' handler can run them. */
const cleanups: Array<() => void> = [];

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * wrangler's own entry point, run with this Node (npm pins Node 24 for every script). A snapshot or
 * another checkout (`--app-dir`) brings its own node_modules; the repository's is the fallback.
 */
function wranglerEntry(cwd: string): string {
  const own = path.join(cwd, "node_modules", "wrangler", "bin", "wrangler.js");
  return fs.existsSync(own) ? own : path.join(REPO, "node_modules", "wrangler", "bin", "wrangler.js");
}

/** Starts `node ...argv` as the leader of a new process group, tracked until the group is gone. */
function spawnGroup(argv: string[], cwd: string, stdio: "pipe" | number): ChildProcess {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: CHILD_ENV,
    stdio: ["ignore", stdio, stdio],
    detached: true,
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
  groups.add(pgid);
  // The leader going does not mean its group went (a workerd may outlive a crashed wrangler).
  child.on("exit", () => {
    if (!signalGroup(pgid, 0)) groups.delete(pgid);
  });
  return child;
}

type RunOptions = { cwd?: string; logFile: string };

/** Runs `wrangler ...args` to completion; resolves with its stdout, appends all output to `logFile`. */
export function runWrangler(args: string[], { cwd = REPO, logFile }: RunOptions): Promise<string> {
  return runNode([wranglerEntry(cwd), ...args], { cwd, logFile });
}

/** Runs a Node script (its own process group) to completion; stdout resolved, all output logged. */
export function runNode(argv: string[], { cwd = REPO, logFile }: RunOptions): Promise<string> {
  const shown = argv.map((a) => path.basename(a)).join(" ");
  return new Promise<string>((resolve, reject) => {
    const child = spawnGroup(argv, cwd, "pipe");
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d));
    child.stderr?.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      fs.appendFileSync(logFile, `$ ${shown}\n${out}${err}\n`);
      if (code === 0) resolve(out);
      else reject(new Error(`${shown} exited ${code ?? signal}:\n${(out + err).slice(-3000)}`));
    });
  });
}

export interface ServerOptions {
  port: number;
  persistTo: string;
  logFile: string;
  /** The directory holding wrangler.toml (default: the repository). */
  cwd?: string;
  /** A fixed inspector port (profiling); default: a free one at each start. */
  inspectorPort?: number;
  healthPath?: string;
  vars?: Record<string, string>;
}
/**
 * One server of the product (or of the echo floor) on 127.0.0.1:port over `persistTo`, in a
 * process group of its own: start() waits for the health path; crash() SIGKILLs the whole group
 * at once (a crash, no shutdown); stop() is gentle.
 */
abstract class ServerProcess {
  readonly options: ServerOptions;
  up = false;
  pgid: number | null = null;
  inspectorPort: number | null = null;
  /** How long each start took until healthy. */
  readonly startMs: number[] = [];
  /** The last start's command line, for the report. */
  command = "";
  /** What it is called in messages ("wrangler dev", "miniflare"). */
  abstract readonly kind: string;

  constructor(options: ServerOptions) {
    this.options = options;
  }

  get base(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** The Node command line of the group's leader, and how it is shown in the report. */
  protected abstract prepare(inspectorPort: number): Promise<{ argv: string[]; command: string }>;

  async start(timeoutMs = 180_000): Promise<void> {
    const { logFile, cwd = REPO, healthPath = "/api/health" } = this.options;
    this.inspectorPort = this.options.inspectorPort ?? (await freePort());
    const { argv, command } = await this.prepare(this.inspectorPort);
    const out = fs.openSync(logFile, "a");
    fs.writeSync(out, `\n=== start ${this.startMs.length + 1} at ${new Date().toISOString()} ===\n`);
    const child = spawnGroup(argv, cwd, out);
    fs.closeSync(out);
    this.pgid = child.pid ?? null;
    this.command = command;
    let exited: string | null = null;
    child.on("exit", (code, signal) => (exited = String(code ?? signal)));
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (exited !== null) throw new Error(`${this.kind} exited (${exited}) before it was healthy:\n${tail(logFile)}`);
      try {
        const res = await fetch(`${this.base}${healthPath}`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          this.up = true;
          this.startMs.push(Date.now() - t0);
          return;
        }
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`${this.kind} not healthy after ${timeoutMs} ms:\n${tail(logFile)}`);
  }

  /** SIGKILL to every process of this run of the server, then wait until all are gone. */
  async crash(): Promise<void> {
    this.up = false;
    if (this.pgid !== null) await stopGroup(this.pgid, 0);
    this.pgid = null;
  }

  /** TERM first (workerd writes its state on the way out), KILL after a grace period. */
  async stop(): Promise<void> {
    this.up = false;
    if (this.pgid !== null) await stopGroup(this.pgid, 5000);
    this.pgid = null;
  }
}

/** `wrangler dev`: wrangler's Node process, its proxy workerd and the workerd running the Worker. */
export class DevServer extends ServerProcess {
  readonly kind = "wrangler dev";

  protected async prepare(inspectorPort: number) {
    const { port, persistTo, cwd = REPO, vars = {} } = this.options;
    const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)];
    args.push("--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", "warn");
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    return { argv: [wranglerEntry(cwd), ...args], command: ["wrangler", ...args].join(" ") };
  }
}

const MINIFLARE_HOST = fileURLToPath(new URL("./miniflare-host.ts", import.meta.url));

/**
 * The production-shaped server (issue 15): the Worker bundled as `wrangler deploy` bundles it
 * (`--dry-run --outdir`, once per server), served by one workerd through Miniflare's API with
 * clients on the Worker's own socket — no wrangler proxy, dev middleware or live reload
 * (miniflare-host.ts). Its group: the Node host and its workerd.
 */
export class MiniflareServer extends ServerProcess {
  readonly kind = "miniflare";
  private script: string | null = null;

  protected async prepare(inspectorPort: number) {
    const { port, persistTo, logFile, cwd = REPO, vars = {} } = this.options;
    if (this.script === null) {
      const outdir = `${persistTo}-bundle`;
      await runWrangler(["deploy", "--dry-run", "--env=", "--outdir", outdir], { cwd, logFile });
      const js = fs.readdirSync(outdir).find((f) => f.endsWith(".js"));
      if (!js) throw new Error(`wrangler deploy --dry-run wrote no script to ${outdir}`);
      this.script = path.join(outdir, js);
    }
    // An inspector only when asked for one (profiling): wrangler dev always has one, production none.
    const inspect = this.options.inspectorPort === undefined ? {} : { inspectorPort };
    const config = { appDir: cwd, script: this.script, host: "127.0.0.1", port, persistTo, vars, ...inspect };
    const shown = `miniflare (bench/lib/miniflare-host.ts) serving ${path.basename(this.script)} of wrangler deploy --dry-run on 127.0.0.1:${port}, persist ${persistTo}, vars ${JSON.stringify(vars)}`;
    return { argv: [MINIFLARE_HOST, JSON.stringify(config)], command: shown };
  }
}

/** Forks a Node helper in our own process group, tracked so that stopAll() ends it. */
export function forkHelper(modulePath: string, args: string[], options: { advanced?: boolean } = {}): ChildProcess {
  const child = fork(modulePath, args, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    ...(options.advanced ? { serialization: "advanced" as const } : {}),
  });
  helpers.add(child);
  child.on("exit", () => helpers.delete(child));
  return child;
}

/** Registers something to undo at the end (temp dirs, copying logs); run in reverse order. */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

function runCleanups(): void {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn();
    } catch {
      // keep tearing down the rest
    }
  }
}

let stopping: Promise<void> | null = null;

/**
 * Stops every process group and helper still running (TERM, then KILL after a grace period), then
 * runs the cleanups: servers first, because workerd writes its state on the way out and the temp
 * dir may go only after. Safe to call more than once.
 */
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const child of helpers) child.kill("SIGTERM");
    await Promise.all([...groups].map((pgid) => stopGroup(pgid, 5000)));
    const deadline = Date.now() + 2000;
    while (helpers.size > 0 && Date.now() < deadline) await sleep(50);
    for (const child of helpers) child.kill("SIGKILL");
    runCleanups();
  })();
  return stopping;
}

/**
 * Last resort when the script exits without stopAll() (an uncaught error): synchronous, as an
 * 'exit' handler must be — KILL everything still tracked, then the cleanups.
 */
export function killAllSync(): void {
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  for (const child of helpers) child.kill("SIGKILL");
  runCleanups();
}

const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;
let interruptedBy: StopSignal | null = null;

/** The signal that ended the run, if one did: an interrupted run must not write its results. */
export const interrupted = (): StopSignal | null => interruptedBy;

/**
 * On SIGINT, SIGTERM or SIGHUP: tell the caller (`onSignal`, e.g. to stop its loops), stop
 * everything, exit 128 + the signal's number. Further signals while stopping are ignored: they
 * usually are the same one twice (Ctrl-C or `timeout` signal the whole process group, and npm
 * forwards its copy to the script), and the stop is bounded anyway (TERM, KILL after 5 s).
 */
export function stopOnSignals(onSignal: (signal: StopSignal) => void = () => {}): void {
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    process.on(signal, () => {
      const code = 128 + STOP_SIGNALS[signal];
      if (interruptedBy !== null) return;
      interruptedBy = signal;
      onSignal(signal);
      void stopAll().finally(() => process.exit(code));
    });
  }
  process.on("exit", killAllSync);
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no such group (any more)
  }
}

/** TERM (unless `graceMs` is 0), KILL whatever is left after `graceMs`, wait until all are gone. */
async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  if (graceMs > 0) {
    signalGroup(pgid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (signalGroup(pgid, 0) && Date.now() < deadline) await sleep(50);
  }
  signalGroup(pgid, "SIGKILL");
  const deadline = Date.now() + 15_000;
  while (signalGroup(pgid, 0) && Date.now() < deadline) await sleep(50);
  groups.delete(pgid);
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
