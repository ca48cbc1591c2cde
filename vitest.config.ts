import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";

// Tests run inside workerd with the real Durable Objects and a real local D1, migrated from the
// committed SQL files before each test file (storage is isolated per file).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("worker/db/migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            AUTH_SECRET: "test-secret-0123456789abcdef",
            DEV_MODE: "true",
          },
        },
      }),
    ],
    test: {
      include: ["worker/**/*.test.ts", "schema/**/*.test.ts"],
      setupFiles: ["./worker/test/apply-migrations.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
