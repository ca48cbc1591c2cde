/**
 * CPU profile of the product's isolate (the Worker and both room classes run in it) through the
 * DevTools inspector that `wrangler dev --inspector-port` exposes. Used by `--profile SCENARIO`
 * to answer "where does the time go"; never during a normal run (profiling slows the isolate).
 */
import fs from "node:fs";
import path from "node:path";
import { WebSocket } from "ws";
import { round } from "./common.ts";

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}
type ProfileNode = CpuProfile["nodes"][number];

export interface ProfileSummary {
  total_ms: number | null;
  busy_ms: number | null;
  by_owner: { name: string; ms: number | null; pct: number | null }[];
  top_self: { name: string; ms: number | null; pct: number | null }[];
  top_inclusive: { name: string; ms: number | null; pct: number | null }[];
}

export async function captureProfile(inspectorPort: number, { samplingIntervalUs = 250 } = {}) {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl?: string;
  }[];
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target.webSocketDebuggerUrl ?? "", { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; error?: unknown; result?: unknown };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (p && msg.id !== undefined) {
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
      else p.resolve(msg.result);
    }
  });
  const send = (method: string, params = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
  await send("Profiler.start");
  return {
    /** Stops, writes the .cpuprofile and summarises it (by module when given wrangler's bundle). */
    async stop(file: string, bundleFile: string | null): Promise<ProfileSummary & { file: string }> {
      const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
      ws.close();
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(profile));
      const bundle = bundleFile && fs.existsSync(bundleFile) ? fs.readFileSync(bundleFile, "utf8") : null;
      return { file, ...summarizeProfile(profile, bundle) };
    },
  };
}

/**
 * Which source module each line of wrangler's bundle came from: esbuild marks every module with
 * a `// path/to/module.ts` comment line.
 */
function moduleMap(bundle: string): (line: number) => string {
  const starts: [number, string][] = [];
  const lines = bundle.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ (\S+\.(?:m?[jt]s|json))$/.exec(lines[i]!);
    if (m) starts.push([i, m[1]!]);
  }
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [start, module] = starts[mid]!;
      if (start <= line) {
        found = module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** A coarse owner for a module path: which part of the stack the time belongs to. */
function ownerOf(modulePath: string): string {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(modulePath);
  if (m) return `lib ${m[1]}`;
  const w = /(worker\/[^/]+(?:\/[^/]+)?|schema\/[^/]+)$/.exec(modulePath);
  return w ? w[1]! : modulePath;
}

const NATIVE_GROUPS: [RegExp, string][] = [
  [/^(exec|one|toArray|next|raw|transactionSync|get databaseSize)$/, "native: SQLite (sql.exec, transactionSync)"],
  [/^(parse|stringify)$/, "native: JSON.parse / JSON.stringify"],
  [
    /^(send|close|accept|acceptWebSocket|getWebSockets|serializeAttachment|deserializeAttachment)$/,
    "native: WebSocket",
  ],
  [/^(setAlarm|deleteAlarm|getAlarm|sync)$/, "native: storage alarm / sync"],
  [
    /^(fetch|idFromName|get|relay|getOrder|placeOrder|batch|prepare|bind|run|all|first)$/,
    "native: RPC / fetch / D1 binding calls",
  ],
  [/^(importKey|verify|sign|digest|getRandomValues|randomUUID)$/, "native: WebCrypto"],
  [/^\(garbage collector\)$/, "(garbage collector)"],
  [/^\(program\)$/, "(program: runtime outside JS)"],
  [/^\(idle\)$/, "(idle)"],
];

/** Self and inclusive time per function name and per module owner; idle / GC / program apart. */
export function summarizeProfile(profile: CpuProfile, bundle: string | null = null): ProfileSummary {
  const moduleOf = bundle ? moduleMap(bundle) : null;
  const owners = new Map<string, number>();
  const ownerLabel = (n: ProfileNode) => {
    const f = n.callFrame;
    if (!f.url || f.url.startsWith("node-internal") || !moduleOf) {
      const name = f.functionName || "(anonymous)";
      if (f.url?.startsWith("cloudflare-internal")) return `runtime ${f.url.replace(/:.*$/, "")}`;
      for (const [re, label] of NATIVE_GROUPS) if (re.test(name)) return label;
      return f.url ? `runtime ${f.url}` : `native: ${name}`;
    }
    return ownerOf(moduleOf(f.lineNumber));
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url ? path.basename(f.url.split("?")[0] ?? f.url) : "native";
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    let node = byId.get(profile.samples[i]!);
    if (!node) continue;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const owner = ownerLabel(node);
    owners.set(owner, (owners.get(owner) ?? 0) + dt);
    const seen = new Set();
    while (node) {
      const name = node.callFrame.functionName || "(anonymous)";
      if (!seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
      }
      const up = parent.get(node.id);
      node = up === undefined ? undefined : byId.get(up);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: round(ms, 1), pct: round((100 * ms) / total, 1) }));
  const idle = (inclusive.get("(idle)") ?? 0) + (inclusive.get("(program)") ?? 0);
  return {
    total_ms: round(total, 0),
    busy_ms: round(total - idle, 0),
    by_owner: top(owners, 40),
    top_self: top(self, 30),
    top_inclusive: top(inclusive, 40),
  };
}
