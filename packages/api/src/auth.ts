/**
 * API keys (`Authorization: Bearer dlk_<id>.<secret>`, made by `digilog-db api-key create`) with
 * scopes. A key is required with NODE_ENV=production, and everywhere once any key was ever
 * created (a revoked one counts: revoking the last key must not open the API). Outside
 * production with no key at all, the API is open, so the README's first `curl` works; it logs
 * one warning saying so.
 *
 * Keys are looked up on the primary on every request, uncached: a revocation takes effect on
 * the next request, and a lagging replica cannot let a revoked key in. No key, hash or
 * Authorization header is ever logged.
 */
import type { Request, RequestHandler } from 'express';
import { apiKeySecretMatches, parseApiKey, type ApiKeyScope } from '@digilog/db';
import type { Prisma } from './database.js';
import { HttpError } from './http-errors.js';
import type { Logger } from './log.js';

export interface AuthOptions {
  /** Always require a key (NODE_ENV=production), even while none exists. */
  alwaysRequired: boolean;
  log: Logger;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="digilog-api"' };

const unauthorized = (message: string) => new HttpError(401, 'unauthorized', message, CHALLENGE);

export class ApiKeyAuth {
  /** Set once a key was seen to exist: from then on no request goes without one. */
  private locked: boolean;
  private warned = false;

  constructor(
    private readonly db: Prisma,
    private readonly options: AuthOptions,
  ) {
    this.locked = options.alwaysRequired;
  }

  /** Middleware: the request needs a valid, unrevoked key holding `scope` (401 without, 403 with too little). */
  require(scope: ApiKeyScope | ((req: Request) => ApiKeyScope)): RequestHandler {
    return async (req, _res, next) => {
      const needed = typeof scope === 'function' ? scope(req) : scope;
      const header = req.get('authorization');
      if (header === undefined) {
        if (await this.open()) return next();
        throw unauthorized('An API key is required: send "Authorization: Bearer <key>"');
      }
      const match = /^Bearer +(\S+) *$/i.exec(header);
      const parsed = match ? parseApiKey(match[1]!) : undefined;
      if (!parsed) throw unauthorized('The Authorization header does not hold an API key ("Bearer dlk_...")');
      const key = await withoutTable(this.db.apiKey.findUnique({ where: { id: parsed.id }, select: { keyHash: true, scopes: true, revokedAt: true } }), null);
      // The secret is checked even for a revoked key, so the answer does not tell a guessed id from a known one.
      const matches = key !== null && apiKeySecretMatches(parsed.secret, key.keyHash);
      if (!key || !matches || key.revokedAt !== null) throw unauthorized('The API key is unknown or revoked');
      this.locked = true;
      if (!key.scopes.includes(needed)) {
        throw new HttpError(403, 'forbidden', `The API key lacks the "${needed}" scope`, { 'www-authenticate': `Bearer realm="digilog-api", error="insufficient_scope", scope="${needed}"` });
      }
      next();
    };
  }

  /** Whether a request without a key may pass: only outside production while no key exists. */
  private async open(): Promise<boolean> {
    if (this.locked) return false;
    if ((await withoutTable(this.db.apiKey.findFirst({ select: { id: true } }), null)) !== null) {
      this.locked = true;
      return false;
    }
    if (!this.warned) {
      this.warned = true;
      this.options.log('warn', 'the API is open: no API key exists and NODE_ENV is not production; create one with `digilog-db api-key create`', { event: 'auth.open' });
    }
    return true;
  }
}

/**
 * A missing api_keys table (its migration still pending, AUTO_MIGRATE off) holds no key: P2021
 * reads as "none", so a key is refused (401) and a development API without keys stays usable.
 */
async function withoutTable<T>(query: Promise<T>, none: T): Promise<T> {
  try {
    return await query;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'P2021') return none;
    throw error;
  }
}
