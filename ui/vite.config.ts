import { defineConfig } from 'vite';

// dist/ is committed and embedded in the appgen binary, and CI rebuilds it and fails on any
// difference, so the output must depend on the sources alone: content-hashed names, no
// sourcemaps, and a clean directory each time.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The server's CSP allows no inline scripts, so nothing may be inlined into index.html
    // (Vite's module preload polyfill would be).
    modulePreload: { polyfill: false },
  },
});
