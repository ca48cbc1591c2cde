// Builds the dashboard into dashboard/dist, which the Worker serves as static assets:
// dashboard/src/main.ts bundled by esbuild (with zod, partysocket and schema/) into app.js,
// plus everything in dashboard/public (index.html, app.css, favicon).
import { build } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "dist");
const watch = process.argv.includes("--watch");

/**
 * Every `wrangler dev` of this checkout (a second dev server, the bench, chaos, the browser
 * tests' server) watches dist and restarts on any write to it — a request in flight then gets
 * "503 Your worker restarted mid-request" and every socket drops. So a file is written only when
 * its bytes changed: rebuilding unchanged sources touches nothing. Stale files are dropped after,
 * never by emptying dist first (a server would briefly serve index.html for app.js).
 */
let written = 0;
function writeIfChanged(path, bytes) {
  try {
    if (Buffer.compare(readFileSync(path), bytes) === 0) return;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  written++;
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

mkdirSync(out, { recursive: true });
const publicFiles = filesUnder(join(here, "public")).map((p) => relative(join(here, "public"), p));
for (const file of publicFiles) writeIfChanged(join(out, file), readFileSync(join(here, "public", file)));
const produced = new Set([...publicFiles, "app.js", "app.js.map"]);

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

if (watch) {
  const { context } = await import("esbuild");
  const ctx = await context(options);
  await ctx.watch();
  console.log("dashboard: watching dashboard/src");
} else {
  const result = await build({ ...options, write: false });
  let bytes = 0;
  for (const file of result.outputFiles) {
    writeIfChanged(file.path, Buffer.from(file.contents));
    bytes += file.contents.byteLength;
  }
  for (const file of filesUnder(out)) {
    if (!produced.has(relative(out, file))) {
      rmSync(file, { force: true });
      written++;
    }
  }
  const what = written === 0 ? "unchanged, nothing written" : `${written} file(s) written`;
  console.log(`dashboard: built dashboard/dist (${(bytes / 1024).toFixed(0)} KiB incl. source map; ${what})`);
}
