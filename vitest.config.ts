import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores on CI machines: forks keep native addons and child processes isolated per file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Property tests use fixed seeds; nothing here may depend on wall-clock speed.
    sequence: { shuffle: false },
  },
});
