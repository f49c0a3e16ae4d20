/**
 * createApp(deps): the DigiLog Settings API as an Express 5 app that never
 * listens by itself, so tests run it in-process on port 0.
 */
import express, { type Express } from 'express';
import type { DatabaseRouter } from './database.js';
import { healthBody, httpStatusOf } from '@digilog/db';
import { liveRouter } from './health/live.js';
import type { HealthMonitor } from './health/monitor.js';
import { HttpError, errorHandler } from './http-errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { settingsRouter } from './routes/settings.js';

export interface AppDeps {
  health: Pick<HealthMonitor, 'current'>;
  db: DatabaseRouter;
  log: Logger;
  /** Serves GET /metrics when given. */
  metrics?: Metrics;
}

export function createApp({ health, db, log, metrics }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/api/v1/health', (_req, res) => {
    const body = healthBody(health.current(), 'overall');
    res.status(httpStatusOf(body)).set('cache-control', 'no-store').json(body);
  });
  app.get('/api/v1/health/db', (_req, res) => {
    const body = healthBody(health.current(), 'db');
    res.status(httpStatusOf(body)).set('cache-control', 'no-store').json(body);
  });
  app.use('/api/v1/health', liveRouter());
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.set('content-type', metrics.registry.contentType).set('cache-control', 'no-store').send(await metrics.render());
    });
  }
  app.use('/api/v1/settings', settingsRouter(db));
  app.use((_req, _res) => {
    throw new HttpError(404, 'not_found', 'No such route');
  });
  app.use(errorHandler(log));
  return app;
}
