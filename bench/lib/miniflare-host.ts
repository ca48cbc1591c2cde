/**
 * The production-shaped server of `npm run bench` (issue 15): the Worker as `wrangler deploy`
 * bundles it, in the same workerd as `wrangler dev`, started through Miniflare's API — without
 * wrangler's proxy process, its dev middleware and live reload, and without Miniflare's own entry
 * worker: clients connect to a socket of the Worker itself (`unsafeDirectSockets`), as the edge
 * hands production requests straight to it. Bindings, Durable Object classes, D1 databases and
 * vars come from the app's wrangler.toml (and .dev.vars) through wrangler's
 * `unstable_getMiniflareWorkerOptions`; D1 and the Durable Objects persist under `persistTo`, in
 * the layout `wrangler dev --persist-to` and `wrangler d1 migrations apply --persist-to` use, so
 * the migrated shards are the ones served. Static assets are left out: the bench never asks for
 * them, and in production the assets router in front of the Worker is the platform's, not billed
 * as the Worker's CPU.
 *
 * Run by MiniflareServer (processes.ts) as the leader of its own process group, its workerd in
 * that group; SIGTERM/SIGINT/SIGHUP dispose of it.
 *
 *   node bench/lib/miniflare-host.ts '<json HostConfig>'
 */
import fs from "node:fs";
import path from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export interface HostConfig {
  /** The directory holding wrangler.toml (and .dev.vars). */
  appDir: string;
  /** The script `wrangler deploy --dry-run --outdir` wrote. */
  script: string;
  host: string;
  port: number;
  inspectorPort?: number;
  persistTo: string;
  vars: Record<string, string>;
}

const config = JSON.parse(process.argv[2] ?? "{}") as HostConfig;
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(config.appDir, "wrangler.toml"));
const { assets: _assets, modulesRules: _rules, ...options } = workerOptions;
const toml = fs.readFileSync(path.join(config.appDir, "wrangler.toml"), "utf8");
const name = /^name\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "worker";

// wrangler describes the Worker in Miniflare's v4 option shape (as its own dev server does).
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [
      {
        ...options,
        name,
        rootPath: config.appDir,
        modules: true,
        modulesRoot: path.dirname(config.script),
        scriptPath: config.script,
        bindings: { ...(options.bindings as Record<string, string>), ...config.vars },
        // Clients talk to the Worker's own socket; Miniflare's entry socket (below) is only for its API.
        unsafeDirectSockets: [{ host: config.host, port: config.port }],
      },
    ],
    host: "127.0.0.1",
    port: 0,
    // Offline here; the placeholder wrangler dev also falls back to.
    cf: false,
    ...(config.inspectorPort ? { inspectorPort: config.inspectorPort } : {}),
    resourcePersistencePath: path.join(config.persistTo, "v3"),
    log: new Log(LogLevel.WARN),
  }),
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`miniflare host: ${signal}, disposing`);
  try {
    await mf.dispose();
  } finally {
    process.exit(0);
  }
}
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void stop(signal));

await mf.ready;
console.log(`miniflare host: ${name} on http://${config.host}:${config.port} (workerd pid group ${process.pid})`);
