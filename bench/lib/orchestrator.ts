/**
 * The orchestrator's side of a scenario: the load processes it drives over IPC (typed by the
 * scenarios' own agent halves), the context every scenario gets, CPU accounting, and the few
 * REST calls every scenario makes to set itself up.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AgentApi, ScenarioResults } from "../scenarios/index.ts";
import { type HttpClient, now, round } from "./common.ts";
import { cpuMsOfAll } from "./proc.ts";
import { forkHelper } from "./processes.ts";

const AGENT = fileURLToPath(new URL("../load/agent.ts", import.meta.url));

export type Command = keyof AgentApi;
export type ResultOf<K extends Command> = Awaited<ReturnType<AgentApi[K]>>;

/** What goes over IPC, both ways. */
export type AgentRequest = { id: number; cmd: string; args: unknown };
export type AgentReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** One load process (bench/load/agent.ts), forked in our process group and driven over IPC. */
export class Agent {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(name: string) {
    this.name = name;
    // "advanced" serialization: typed arrays of timestamps travel as they are.
    this.child = forkHelper(AGENT, [name], { advanced: true });
    this.child.on("message", (m: AgentReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`[load ${this.name}] ${m.error}`));
    });
    this.child.on("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load process ${this.name} exited (${code})`));
      this.pending.clear();
    });
  }

  /** Runs `cmd` (a handler of some scenario's agent half) in the load process. */
  call<K extends Command>(cmd: K, ...args: Parameters<AgentApi[K]>): Promise<ResultOf<K>> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new Error(`load process ${this.name} is gone`));
      const id = this.nextId++;
      this.pending.set(id, { resolve: (v) => resolve(v as ResultOf<K>), reject });
      // With a callback a closed channel is this call's error, not an uncaught 'error' event.
      this.child.send({ id, cmd, args: args[0] ?? {} } satisfies AgentRequest, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }
}

export type Agents = { screensA: Agent; screensB: Agent; placer: Agent; solo: Agent };

/**
 * Pids of each server process, by the name its CPU is reported under. `product_host_node` is
 * wrangler's Node process (dev mode) or the Miniflare host (prod mode); only dev mode has a proxy.
 */
export type ServerPids = {
  product_workerd: number[];
  product_proxy_workerd: number[];
  product_host_node: number[];
  echo_workerd: number[];
  ws_baseline: number[];
};

/** CPU ms per server (`<name>_cpu_ms`) and of the load processes, and the wall time, of one block. */
export type CpuUsage = Record<string, number | null>;

/** CPU used by each server and load process between start() and stop(). */
export function cpuMeter(servers: ServerPids, agents: Agent[]) {
  const read = async () => {
    const s = Object.fromEntries(Object.entries(servers).map(([name, pids]) => [name, cpuMsOfAll(pids)]));
    const a = await Promise.all(agents.map((ag) => ag.call("cpu")));
    const u = process.cpuUsage();
    return { s, load: a.reduce((sum, x) => sum + x.cpuMs, 0) + (u.user + u.system) / 1000, wall: now() };
  };
  let before: Awaited<ReturnType<typeof read>> | undefined;
  return {
    async start(): Promise<void> {
      before = await read();
    },
    async stop(): Promise<CpuUsage> {
      const after = await read();
      const b = before ?? after;
      const out: CpuUsage = {
        wall_ms: round(after.wall - b.wall, 0),
        load_processes_cpu_ms: round(after.load - b.load, 0),
      };
      for (const [k, v] of Object.entries(after.s)) out[`${k}_cpu_ms`] = round(v - (b.s[k] ?? 0), 0);
      return out;
    },
  };
}

/** CPU ms per order of every process in `cpu`. */
export function cpuPerOrder(cpu: CpuUsage, count: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [key, v] of Object.entries(cpu))
    if (key.endsWith("_cpu_ms")) out[key.replace("_cpu_ms", "")] = count && v !== null ? round(v / count, 3) : null;
  return out;
}

/** How the product is served: production-shaped (Miniflare, no dev tooling) or `wrangler dev`. */
export type Mode = "prod" | "dev";

/** What every scenario's orchestrator half gets. */
export interface BenchContext {
  quick: boolean;
  mode: Mode;
  /** Where the product's local D1 databases and Durable Objects persist (`<persistTo>/v3/…`). */
  persistTo: string;
  base: string;
  wsBase: string;
  echoUrl: string;
  wsBaselineOrigin: string;
  wsBaselineUrl: string;
  api: HttpClient;
  agents: Agents;
  servers: ServerPids;
  /** A dispatcher's token (creates merchants) and 20 customers' tokens (place orders). */
  dispatch: string;
  customers: string[];
  /** Fan-out sizes given with --ks, instead of the plan's. */
  ks: number[] | null;
  results: { scenarios: ScenarioResults };
  meter(): ReturnType<typeof cpuMeter>;
  /** Waits for the product to go idle (the previous step's outbox drained); returns the ms it took. */
  quiet(): Promise<number | null>;
  /** Every merchant this run created (deliverDeferred asks each to deliver what it holds back). */
  merchants: Set<string>;
  log(...parts: unknown[]): void;
}

export async function mintToken(api: HttpClient, body: Record<string, string>): Promise<string> {
  const r = await api<{ token: string }>("POST", "/api/dev/token", { body });
  if (r.status !== 200 || !r.json) throw new Error(`dev token: ${r.status} ${r.text} (is DEV_MODE=true in .dev.vars?)`);
  return r.json.token;
}

/**
 * Before a scenario: every merchant room of the run delivers what it holds back now — relays to
 * order rooms nobody watches wait up to 30 s (issue 15), so a scenario's deferred work would
 * otherwise land in the middle of the next one, on the same single workerd thread (in production
 * it is another room's work, on another machine). `waitQuiet` cannot see work that is not due yet.
 * Older commits (--ref) have no such endpoint (404) and nothing deferred.
 */
export async function deliverDeferred(ctx: Pick<BenchContext, "api" | "dispatch" | "merchants">): Promise<void> {
  for (const merchantId of ctx.merchants) {
    const r = await ctx.api("POST", "/api/dev/deliver", { token: ctx.dispatch, body: { merchantId } });
    // Every merchant here was created by this run, so a 404 is the route missing: an older commit.
    if (r.status === 404) return;
    if (r.status !== 200) throw new Error(`delivering ${merchantId}'s deferred relays: ${r.status} ${r.text}`);
  }
}

/** A fresh merchant id. */
export const merchantIdFor = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** A new merchant (accept window 1 h: the bench's orders must not expire under it). */
export async function createMerchant(ctx: BenchContext, prefix: string, id = merchantIdFor(prefix)) {
  const r = await ctx.api("PUT", `/api/merchants/${id}`, {
    token: ctx.dispatch,
    body: { name: `Bench ${prefix}`, acceptWindowSeconds: 3600 },
  });
  if (r.status !== 201) throw new Error(`creating merchant ${id}: ${r.status} ${r.text}`);
  ctx.merchants.add(id);
  return {
    id,
    token: (sub: string) => mintToken(ctx.api, { role: "merchant", sub, merchantId: id }),
    screenUrl: (token: string) => `${ctx.wsBase}/ws/merchant/${id}/orders?token=${token}`,
  };
}
