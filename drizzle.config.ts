import { defineConfig } from "drizzle-kit";

// Generates SQL migrations from worker/db/schema.ts; wrangler applies them (never `drizzle-kit push`).
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./worker/db/migrations",
});
