import { defineConfig } from 'vitest/config';

// Kept apart from vite.config.ts so that the build's settings stay about the build alone.
export default defineConfig({
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'jsdom',
    setupFiles: ['src/test/setup.ts'],
    // Worker threads start faster than child processes, and every test here runs in-process.
    pool: 'threads',
  },
});
