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
    // The AWS SDK is pinned exactly; its notice about future releases needing Node 22 is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
