/** JSON errors with proper status codes; internals (SQL, stack traces, URLs) never reach a client. */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from './log.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The last middleware: maps body-parser errors and HttpErrors, hides everything else behind a 500. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
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
    res.status(http.status).json({ error: { code: http.code, message: http.message } });
  };
}
