import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Database tests create their own databases, so files can run in parallel;
    // two workers match the two cores CI has.
    maxWorkers: 2,
    globalSetup: ['./vitest.global-setup.ts'],
  },
});
