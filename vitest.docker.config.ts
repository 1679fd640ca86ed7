import { defineConfig } from "vitest/config";

// The container tests (npm run test:docker): image builds and a compose cell take minutes, not seconds.
export default defineConfig({
  test: {
    include: ["test/docker/**/*.test.ts"],
    testTimeout: 20 * 60_000,
    hookTimeout: 40 * 60_000,
    maxWorkers: 1,
    env: {
      SAX_LOG_LEVEL: "error",
      // testcontainers' reaper is an image from Docker Hub; the tests take the cell down themselves.
      TESTCONTAINERS_RYUK_DISABLED: "true",
      // The containers share the host's network, so the host is loopback; and an engine started without
      // a bridge (scripts/docker-engine) has no bridge gateway for testcontainers to look the host up by.
      TESTCONTAINERS_HOST_OVERRIDE: "127.0.0.1",
    },
  },
});
