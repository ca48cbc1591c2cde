/**
 * What the bench and the chaos run serve and on what: a private snapshot of the product, its local
 * D1 databases migrated, and a description of the machine and toolchain for the report.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { round } from "./common.ts";
import { type Pressure, pressure } from "./proc.ts";
import { REPO, runWrangler } from "./processes.ts";

/**
 * A private copy of the product for this run. `wrangler dev` watches its sources and reloads on
 * every change; on a machine where others are editing the repo, that would drop every socket
 * mid-scenario. So the bench serves a snapshot: the working tree (default) or a git ref (--ref).
 * `patch` (with a ref) is applied to the copy: the rows-written counter for a commit from before it.
 * Returns a description of what was copied.
 */
export function snapshotProduct(dir: string, ref: string | undefined, patch?: string): string {
  const files = ["worker", "schema", "wrangler.toml", ".dev.vars", "package.json", "tsconfig.json"];
  const git = (args: string[], input?: Buffer) =>
    execFileSync("git", args, { cwd: REPO, maxBuffer: 1 << 30, ...(input ? { input } : {}) });
  fs.mkdirSync(dir, { recursive: true });
  const commit = git(["rev-parse", "--short", ref ?? "HEAD"])
    .toString()
    .trim();
  let source: string;
  if (ref) {
    execFileSync("tar", ["-x", "-C", dir], { input: git(["archive", "--format=tar", ref, ...files]) });
    source = `git ${ref} (${commit})`;
    if (patch) {
      execFileSync("git", ["apply", patch], { cwd: dir });
      source += ` + ${path.relative(REPO, patch)}`;
    }
  } else {
    for (const f of files)
      if (fs.existsSync(path.join(REPO, f))) fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
    const dirty = git(["status", "--porcelain", "--", ...files])
      .toString()
      .trim();
    const changes = dirty ? ` (uncommitted changes in ${dirty.split("\n").length} file(s))` : " (clean)";
    source = `working tree at ${commit}${changes}`;
  }
  // The dashboard is served as static assets but is not benchmarked: copy it if built, else a stub.
  const dist = path.join(REPO, "dashboard", "dist");
  fs.mkdirSync(path.join(dir, "dashboard", "dist"), { recursive: true });
  if (fs.existsSync(path.join(dist, "index.html")))
    fs.cpSync(dist, path.join(dir, "dashboard", "dist"), { recursive: true });
  else
    fs.writeFileSync(
      path.join(dir, "dashboard", "dist", "index.html"),
      "<!doctype html><title>Ticket Rail (bench)</title>",
    );
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  return source;
}

/**
 * The product's D1 databases, as its wrangler.toml binds them at the top level: the history
 * shards DB, DB_1, … (worker/db/shards.ts), or just DB for a product from before sharding.
 */
export function d1Bindings(appDir: string): string[] {
  const toml = fs.readFileSync(path.join(appDir, "wrangler.toml"), "utf8").split(/^\[env\./m)[0] ?? "";
  return [...toml.matchAll(/^\[\[d1_databases\]\][^[]*?^binding\s*=\s*"([^"]+)"/gms)].map((m) => m[1] ?? "DB");
}

/** Applies the migrations to every one of the product's local D1 databases in `persistTo`. */
export async function migrateLocal(appDir: string, persistTo: string, logFile: string): Promise<void> {
  for (const binding of d1Bindings(appDir))
    await runWrangler(["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo], {
      cwd: appDir,
      logFile,
    });
}

export interface Machine {
  cores: number;
  cpu_model: string;
  mem_gb: number | null;
  os: string;
  node: string;
  workerd: string;
  wrangler: string;
  ws: string;
  git_commit: string;
  loadavg_start: (number | null)[];
  pressure_start: Pressure;
  product_source?: string;
  loadavg_end?: (number | null)[];
  pressure_end?: Pressure;
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { cwd: REPO }).toString().trim();
    } catch {
      return "unknown";
    }
  };
  const packageVersion = (name: string) =>
    (JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string })
      .version;
  return {
    cores: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    mem_gb: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    workerd: version(path.join(REPO, "node_modules", ".bin", "workerd"), ["--version"]),
    wrangler: packageVersion("wrangler"),
    ws: packageVersion("ws"),
    git_commit: version("git", ["rev-parse", "--short", "HEAD"]),
    loadavg_start: os.loadavg().map((x) => round(x, 2)),
    pressure_start: pressure(),
  };
}
