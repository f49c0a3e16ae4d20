/**
 * One access log line and one histogram sample per request, labelled by the matched route
 * pattern (`/api/v1/settings/:key`), never by the raw path: keys, traversal attempts and 404
 * junk would make the label's values unbounded. A request no route matched (404, a 401 from
 * the key check in front of the settings router) is `unmatched`.
 * Logged: request id, method, route, status, duration. Never the path, query, headers or body
 * (a Bearer key or a secret in a query string must not reach a log).
 */
import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler } from 'express';
import type { Histogram } from 'prom-client';
import { redact } from '@digilog/db';
import type { Logger } from './log.js';

export const UNMATCHED = 'unmatched';
/** An incoming X-Request-Id is kept only if it is a plain token (no log injection, bounded size). */
const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const ROUTE = Symbol('digilog.route');

type Tagged = Request & { [ROUTE]?: string };

/**
 * First middleware: request id, start time, and the line + sample once the response is done.
 * `log` should be a service's hot logger (buffered, unredacted: log.ts): no field here can hold a
 * secret, as an incoming id that contains a registered one is replaced, like any other odd id.
 */
export function accessLog(log: Logger, histogram?: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && SANE_ID.test(incoming) && redact(incoming) === incoming ? incoming : randomUUID();
    // setHeader, not res.set(): no content-type or array handling is needed for a token.
    res.setHeader('x-request-id', requestId);
    // 'close' alone: Node emits it after 'finish' for every response, and also when the client hung
    // up first; one listener per request instead of two.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req as Tagged)[ROUTE] ?? UNMATCHED;
      const status = res.statusCode;
      histogram?.observe({ method: req.method, route, status: String(status) }, seconds);
      const fields: Record<string, unknown> = { event: 'http.request', requestId, method: req.method, route, status, durationMs: Math.round(seconds * 1e6) / 1000 };
      // A client that hung up before the response was sent ('close' without 'finish').
      if (!res.writableFinished) fields.aborted = true;
      log('info', 'request', fields);
    });
    next();
  };
}

interface RouterLike {
  stack: Array<{ route?: { path: string | string[] }; handle: RequestHandler & { stack?: unknown } }>;
}

/**
 * Remembers each request's route pattern at the moment its route is dispatched: only then are
 * req.baseUrl (the mount path) and the route both known; Express restores baseUrl when an error
 * leaves a router, so reading them when the response finishes would lose the mount path.
 * Call it after every route is registered; it recurses into mounted routers.
 */
export function tagRoutes(app: Express): void {
  const walk = (router: RouterLike) => {
    for (const layer of router.stack) {
      if (layer.route) {
        const { path } = layer.route;
        const dispatch = layer.handle;
        layer.handle = (req, res, next) => {
          // An array of paths (`app.all([...])`): the one this request matched (they are literal).
          const pattern = Array.isArray(path) ? (path.find((p) => p === req.path) ?? path[0]!) : path;
          // A router's own root ('/' under /api/v1/settings) is the mount path itself.
          (req as Tagged)[ROUTE] = pattern === '/' && req.baseUrl ? req.baseUrl : `${req.baseUrl}${pattern}`;
          return dispatch(req, res, next);
        };
      } else if (Array.isArray(layer.handle.stack)) {
        walk(layer.handle as unknown as RouterLike);
      }
    }
  };
  walk((app as unknown as { router: RouterLike }).router);
}
