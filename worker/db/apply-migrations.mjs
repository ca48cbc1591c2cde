#!/usr/bin/env node
// Applies the D1 migrations to every history shard named in wrangler.toml (DB, DB_1, …), so a
// new shard can never be forgotten: `node worker/db/apply-migrations.mjs --local [--persist-to DIR]`
// or `--remote [--env production]`. Extra arguments go to `wrangler d1 migrations apply`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The D1 bindings of wrangler.toml (top level, or of `[env.<name>]` when --env is given). */
function d1Bindings(toml, envName) {
  const section = envName
    ? (toml.split(/^\[env\./m).find((part) => part.startsWith(`${envName}`)) ?? "")
    : toml.split(/^\[env\./m)[0];
  return [...section.matchAll(/^\[\[(?:env\.[\w-]+\.)?d1_databases\]\][^[]*?^binding\s*=\s*"([^"]+)"/gms)].map(
    (m) => m[1],
  );
}

const args = process.argv.slice(2);
const envIndex = args.indexOf("--env");
const envName = envIndex >= 0 ? args[envIndex + 1] : undefined;
const bindings = d1Bindings(readFileSync(`${root}/wrangler.toml`, "utf8"), envName);
if (bindings.length === 0) throw new Error("no [[d1_databases]] in wrangler.toml");
for (const binding of bindings) {
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", binding, ...args], { cwd: root, stdio: "inherit" });
}
