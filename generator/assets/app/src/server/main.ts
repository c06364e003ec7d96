// `pnpm start`: one server for the API and the built client (dist/client), configured by
// PORT (default 3000), HOST (default 127.0.0.1) and DATA_DIR (default ./data).
import express from 'express';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const dataDir = path.resolve(process.env.DATA_DIR ?? 'data');
// The server bundle lives in dist/server, beside the client's dist/client.
const clientDir = fileURLToPath(new URL('../client', import.meta.url));

const app = createApp({ dataDir });
app.use(express.static(clientDir, { index: false }));
// Any other GET of a path without a file extension is a client-side route (/tasks/42/edit):
// answer with the app's page. A missing file (/_assets/gone.js) stays a 404.
app.use((req, res, next) => {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || path.extname(req.path) !== '') return next();
  // Relative to `root`, so a parent folder whose name starts with a dot (/tmp/.x/app) is not
  // mistaken for a hidden file.
  res.sendFile('index.html', { root: clientDir });
});

app.listen(port, host, (error) => {
  if (error) {
    console.error(`Cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  }
  console.log(`Listening on http://${host}:${port} (data in ${dataDir})`);
});
// Exit at once on stop signals, also as PID 1 in a container (where Node ignores them by
// default): every write is finished before its answer is sent, so nothing is lost.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(0));
}
