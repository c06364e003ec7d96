// The API as an Express app: health, one CRUD collection per entity, JSON errors. The same app
// serves `pnpm dev` (inside Vite), `pnpm start` (src/server/main.ts) and the tests.
import express, { type ErrorRequestHandler, type Express } from 'express';
import { model } from '../shared/model';
import { crudRoutes } from './crud';
import { JsonStore } from './store';

export interface AppOptions {
  /** Where the data file lives; it is created when missing. */
  dataDir: string;
}

export function createApp({ dataDir }: AppOptions): Express {
  const store = new JsonStore(dataDir);
  const app = express();
  app.disable('x-powered-by');
  app.use('/api', express.json({ limit: '1mb' }));
  app.get('/api/health', (_req, res) => {
    res.json({ status: 'ok', entities: model.entities.map((entity) => entity.name) });
  });
  for (const entity of model.entities) {
    app.use(`/api/${entity.path}`, crudRoutes(entity, store));
  }
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'No such API route' });
  });
  app.use(jsonErrors);
  return app;
}

// Malformed JSON and other client mistakes are answered as 400-range JSON; anything else is a
// bug, logged here and answered without its details.
const jsonErrors: ErrorRequestHandler = (error, _req, res, _next) => {
  const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  const message = status === 400 ? 'The body is not valid JSON' : status === 500 ? 'Internal server error' : String(error.message);
  res.status(status).json({ error: message });
};
