import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The container tests run apart, with their own config: npm run test:docker.
    exclude: ["test/docker/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real processes; two cores is all the machine has.
    maxWorkers: 2,
    // Servers under test log to stderr; keep test output to failures.
    env: { SAX_LOG_LEVEL: "error" },
  },
});
