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
    let http: HttpError;
    if (error instanceof HttpError) http = error;
    else if (type === 'entity.too.large') http = new HttpError(413, 'payload_too_large', 'Request body is too large');
    else if (type === 'entity.parse.failed') http = new HttpError(400, 'invalid_json', 'Request body is not valid JSON');
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported') http = new HttpError(415, 'unsupported_encoding', 'Unsupported body encoding');
    else {
      log('error', 'request failed', { error: (error as Error)?.message, code: (error as { code?: string }).code });
      http = new HttpError(500, 'internal_error', 'Internal server error');
    }
    res.status(http.status).json({ error: { code: http.code, message: http.message } });
  };
}
