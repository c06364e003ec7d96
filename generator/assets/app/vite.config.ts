import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Plugin } from 'vite';

type Handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

// In development the API runs inside Vite's dev server, so `pnpm dev` is one process on one
// port. The server code is loaded through Vite, so an edit to it takes effect on the next request.
function devApi(): Plugin {
  return {
    name: 'dev-api',
    configureServer(server) {
      let loaded: { module: unknown; handler: Handler } | undefined;
      server.middlewares.use((req, res, next) => {
        if (req.url !== '/api' && !req.url?.startsWith('/api/')) return next();
        server
          .ssrLoadModule('/src/server/app.ts')
          .then((module) => {
            if (loaded?.module !== module) {
              loaded = { module, handler: module.createApp({ dataDir: process.env.DATA_DIR ?? 'data' }) };
            }
            loaded.handler(req, res, next);
          })
          .catch(next);
      });
    },
  };
}

export default defineConfig({
  plugins: [devApi()],
  // `vite build` makes both halves in one run: the client in dist/client and the server, which
  // serves it, in dist/server.
  builder: {},
  environments: {
    client: {
      // Entity pages live at /<plural>, e.g. /assets for an Asset entity; bundles go elsewhere.
      build: { outDir: 'dist/client', assetsDir: '_assets' },
    },
    ssr: {
      build: { outDir: 'dist/server', copyPublicDir: false, rolldownOptions: { input: 'src/server/main.ts' } },
    },
  },
});
