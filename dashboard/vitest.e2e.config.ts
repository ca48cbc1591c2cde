import { defineConfig } from "vitest/config";

// Browser end-to-end tests (real Chromium against `wrangler dev`) and the dashboard's pure
// unit tests, in Node. The root vitest.config.ts runs inside workerd and never sees these.
export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["dashboard/test/**/*.test.ts"],
    environment: "node",
    globalSetup: ["dashboard/test/global-setup.ts"],
    // One Worker and a few Chromiums on a shared 2-core machine: files run one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
