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
            // A platform identity provider for the JWKS tests; its keys are made and served by
            // the tests themselves (worker/test/jwks-support.ts), never fetched from the network.
            AUTH_JWKS_URL: "https://idp.platform.test/.well-known/jwks.json",
            AUTH_ISSUER: "https://idp.platform.test/",
            AUTH_AUDIENCE: "ticket-rail",
          },
        },
      }),
    ],
    test: {
      include: ["worker/**/*.test.ts", "schema/**/*.test.ts"],
      setupFiles: ["./worker/test/apply-migrations.ts"],
      // The rooms' structured JSON log lines (worker/log.ts) are thousands of expected refusals
      // and injected delivery failures; logging.test.ts checks them. SHOW_LOGS=1 shows them all.
      onConsoleLog: (log: string) => (process.env.SHOW_LOGS || !log.startsWith('{"level":') ? undefined : false),
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
