// Builds the dashboard into dashboard/dist (served by the Worker as static assets).
import { mkdirSync, copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "dist");
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(here, "public"))) copyFileSync(join(here, "public", f), join(out, f));
