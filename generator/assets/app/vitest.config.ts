import { defineConfig } from 'vitest/config';

// Kept apart from vite.config.ts so tests start without the dev server's API plugin.
// API tests run in Node; component tests opt into happy-dom with a comment at their top.
export default defineConfig({
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
    // Worker threads start faster than child processes, and every test here runs in-process.
    pool: 'threads',
  },
});
