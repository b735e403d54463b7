import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    // Every function the translator generates during the run passes the safety check.
    setupFiles: ['test/jit/setup.ts'],
  },
});
