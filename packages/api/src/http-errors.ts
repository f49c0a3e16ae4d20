/**
 * Errors as RFC 9457 problem details (application/problem+json) with proper status codes;
 * internals (SQL, stack traces, URLs) never reach a client. The body keeps the older
 * `error: { code, message }` beside the problem fields, for the clients that read it.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from './log.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Response headers the status calls for (Allow on a 405, WWW-Authenticate on a 401). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A problem's `type`: a stable URN per error code (a name to match on, not a page to fetch). */
export const problemType = (code: string) => `urn:digilog:problem:${code}`;

/** Sends the problem document of an HttpError; `instance` is the request's path (never its query). */
export function sendProblem(res: Response, http: HttpError, path: string): void {
  res
    .status(http.status)
    .set(http.headers)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: problemType(http.code),
        title: STATUS_CODES[http.status] ?? 'Error',
        status: http.status,
        detail: http.message,
        instance: path,
        error: { code: http.code, message: http.message },
      }),
    );
}

/** For a path's other methods: 405 with the Allow header (an OPTIONS request gets the Allow header and 204). */
export function methodNotAllowed(allow: string): RequestHandler {
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res.status(204).set('allow', allow).end();
      return;
    }
    throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed here; allowed: ${allow}`, { allow });
  };
}

/** The last middleware: maps body-parser errors and HttpErrors, hides everything else behind a 500. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const type = (error as { type?: string }).type;
    const code = (error as { code?: unknown } | null)?.code;
    let http: HttpError;
    if (error instanceof HttpError) http = error;
    else if (type === 'entity.too.large') http = new HttpError(413, 'payload_too_large', 'Request body is too large');
    else if (type === 'entity.parse.failed') http = new HttpError(400, 'invalid_json', 'Request body is not valid JSON');
    // Prisma's codes for a lost race (the route handles the usual cases; these are the fallback, never a 500).
    else if (code === 'P2025') http = new HttpError(404, 'not_found', 'The record does not exist (any more)');
    else if (code === 'P2002' || code === 'P2034') http = new HttpError(409, 'conflict', 'A concurrent change conflicted with this one; retry');
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported') http = new HttpError(415, 'unsupported_encoding', 'Unsupported body encoding');
    else {
      log('error', 'request failed', { error: (error as Error)?.message, code });
      http = new HttpError(500, 'internal_error', 'Internal server error');
    }
    sendProblem(res, http, req.originalUrl.split('?')[0]!);
  };
}
