/**
 * createApp(deps): the DigiLog Settings API as an Express 5 app that never
 * listens by itself, so tests run it in-process on port 0.
 */
import express, { type Express } from 'express';
import type { DatabaseRouter } from './database.js';
import { healthBody, httpStatusOf } from '@digilog/db';
import { accessLog, tagRoutes } from './access-log.js';
import { ApiKeyAuth } from './auth.js';
import { liveRouter } from './health/live.js';
import type { HealthMonitor } from './health/monitor.js';
import { HttpError, errorHandler, methodNotAllowed } from './http-errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { settingsRouter } from './routes/settings.js';

export interface AppDeps {
  health: Pick<HealthMonitor, 'current'>;
  db: DatabaseRouter;
  log: Logger;
  /** Where the access log's lines go (default `log`); the server passes its buffered accessLogger. */
  requestLog?: Logger;
  /** Serves GET /metrics (scope metrics:read) when given. */
  metrics?: Metrics;
  /** Require an API key even while none exists (NODE_ENV=production); see auth.ts. */
  alwaysRequireKey?: boolean;
}

export function createApp({ health, db, log, requestLog = log, metrics, alwaysRequireKey = false }: AppDeps): Express {
  const auth = new ApiKeyAuth(db.primary, { alwaysRequired: alwaysRequireKey, log });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(accessLog(requestLog, metrics?.httpRequestDuration));

  app.get('/api/v1/health', (_req, res) => {
    const body = healthBody(health.current(), 'overall');
    res.status(httpStatusOf(body)).set('cache-control', 'no-store').json(body);
  });
  app.get('/api/v1/health/db', (_req, res) => {
    const body = healthBody(health.current(), 'db');
    res.status(httpStatusOf(body)).set('cache-control', 'no-store').json(body);
  });
  app.use('/api/v1/health', liveRouter());
  app.all(['/api/v1/health', '/api/v1/health/db', '/api/v1/health/live'], methodNotAllowed('GET, HEAD'));
  // Public, like the health endpoints: the API's shape is no secret, and clients generate code from it.
  const openapi = JSON.stringify(openApiDocument());
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.all('/api/v1/openapi.json', methodNotAllowed('GET, HEAD'));
  if (metrics) {
    app.get('/metrics', auth.require('metrics:read'), async (_req, res) => {
      res.set('content-type', metrics.registry.contentType).set('cache-control', 'no-store').send(await metrics.render());
    });
    app.all('/metrics', methodNotAllowed('GET, HEAD'));
  }
  app.use(
    '/api/v1/settings',
    auth.require((req) => (['GET', 'HEAD', 'OPTIONS'].includes(req.method) ? 'settings:read' : 'settings:write')),
    settingsRouter(db),
  );
  app.use((_req, _res) => {
    throw new HttpError(404, 'not_found', 'No such route');
  });
  app.use(errorHandler(log));
  tagRoutes(app);
  return app;
}
