// Builds the dashboard into dashboard/dist, which the Worker serves as static assets:
// dashboard/src/main.ts bundled by esbuild (with zod, partysocket and schema/) into app.js,
// plus everything in dashboard/public (index.html, app.css, favicon).
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "dist");
const watch = process.argv.includes("--watch");

// Overwrite in place and then drop stale files, rather than emptying dist first: a running
// `wrangler dev` watches this directory and would briefly serve index.html for app.js.
mkdirSync(out, { recursive: true });
cpSync(join(here, "public"), out, { recursive: true });
const produced = new Set([...readdirSync(join(here, "public")), "app.js", "app.js.map"]);

/**
 * zod's namespace re-exports every error-message locale (~260 KiB minified); the dashboard only
 * uses the English one, which zod imports directly. Swap the locale index for an empty module.
 */
const onlyEnglishZod = {
  name: "only-english-zod",
  setup(b) {
    b.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: "zod-locales", namespace: "stub" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

const options = {
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "safari16", "firefox110"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  plugins: [onlyEnglishZod],
  logLevel: "warning",
};

for (const entry of readdirSync(out)) if (!produced.has(entry)) rmSync(join(out, entry), { recursive: true, force: true });

if (watch) {
  const { context } = await import("esbuild");
  const ctx = await context(options);
  await ctx.watch();
  console.log("dashboard: watching dashboard/src");
} else {
  const result = await build({ ...options, metafile: true });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`dashboard: built dashboard/dist (${(bytes / 1024).toFixed(0)} KiB incl. source map)`);
}
