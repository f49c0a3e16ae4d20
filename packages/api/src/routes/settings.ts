/**
 * /api/v1/settings: list (paginated by key), get, upsert (PUT), delete,
 * through Prisma Client. Keys and bodies validated with zod; every change is
 * recorded in setting_changes in the same transaction.
 */
import { isUtf8 } from 'node:buffer';
import { Router, json, type Request } from 'express';
import { z } from 'zod';
import type { DatabaseRouter } from '../database.js';
import { HttpError, methodNotAllowed } from '../http-errors.js';

export const MAX_VALUE_BYTES = 16 * 1024;
const MAX_DEPTH = 32;

export const keySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'lower-case letters and digits, separated by ".", "_" or "-"');

export const bodySchema = z
  .object({
    value: z.json(),
    description: z.string().max(500).nullable().optional(),
    scope: z.enum(['GLOBAL', 'TENANT']).optional(),
  })
  .strict();

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: keySchema.optional(),
});

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const item of Object.values(value)) max = Math.max(max, depthOf(item, depth + 1));
  return max;
}

/** Finds a `__proto__` key down to the depth a value may have (deeper bodies are refused anyway). */
function hasProtoKey(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH + 1 || value === null || typeof value !== 'object') return false;
  return Object.keys(value).some((key) => key === '__proto__' || hasProtoKey((value as Record<string, unknown>)[key], depth + 1));
}

// PostgreSQL stores no U+0000 (jsonb: 22P05, text: 22021) and no unpaired UTF-16 surrogate (invalid
// JSON in jsonb; text would turn it into U+FFFD): refused up front instead of a 500 from the write.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The first string or object key (down to the depth a body may have) PostgreSQL cannot store, as a path. */
function unstorableText(value: unknown, path: string[] = [], depth = 0): string[] | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (depth > MAX_DEPTH + 1 || value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (UNSTORABLE.test(key)) return [...path, JSON.stringify(key)];
    const found = unstorableText(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Prisma's error code (P2002 unique violation, P2025 record not found), if the error has one. */
function prismaCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

function parseKey(raw: unknown): string {
  const parsed = keySchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, 'invalid_key', `Invalid setting key: ${parsed.error.issues[0]?.message ?? 'bad format'}`);
  return parsed.data;
}

/** Who is asking, for read-your-writes: an explicit client id, else the peer address. */
function clientKey(req: Request): string {
  const id = req.get('x-client-id');
  return id && id.length <= 128 ? `id:${id}` : `ip:${req.ip ?? 'unknown'}`;
}

/**
 * A setting's entity tag: its version and its row id. The id changes when a setting is deleted and
 * created again (its version restarts at 1), so a stale If-Match from before never matches.
 */
const etagOf = (s: { id: string; version: number }) => `"${s.version}-${s.id}"`;

/**
 * Whether the If-Match header (RFC 9110 13.1.1) allows a change of `current` (undefined: no such
 * setting): absent → yes; `*` → when it exists; else when one of its strong tags is the current one.
 */
function ifMatchAllows(header: string | undefined, current: { id: string; version: number } | null | undefined): boolean {
  if (header === undefined) return true;
  if (header.trim() === '*') return current != null;
  const tags = [...header.matchAll(/(W\/)?"([^"]*)"/g)];
  if (tags.length === 0) throw new HttpError(400, 'invalid_if_match', 'If-Match must be "*" or a list of entity tags such as "3-<id>" (from the ETag header)');
  return current != null && tags.some((tag) => !tag[1] && `"${tag[2]}"` === etagOf(current));
}

const preconditionFailed = (key: string) =>
  new HttpError(412, 'precondition_failed', `Setting "${key}" has changed (or does not exist): its ETag no longer matches If-Match; GET it again`);

const toDto = (s: { key: string; value: unknown; description: string | null; scope: string; version: number; createdAt: Date; updatedAt: Date }) => ({
  key: s.key,
  value: s.value,
  description: s.description,
  scope: s.scope,
  version: s.version,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

export function settingsRouter(db: DatabaseRouter): Router {
  const router = Router();
  const parseJson = json({
    limit: '64kb',
    strict: true,
    type: () => true,
    // The decoder would turn invalid bytes into U+FFFD and store them; reject the body instead.
    verify: (_req, _res, buffer, encoding) => {
      if (/^utf-?8$/i.test(encoding) && !isUtf8(buffer)) throw new HttpError(400, 'invalid_utf8', 'Request body is not valid UTF-8');
    },
  });

  router.get('/', async (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) throw new HttpError(400, 'invalid_query', query.error.issues[0]?.message ?? 'invalid query');
    const { limit, cursor } = query.data;
    const { db: reader, target } = db.forRead(clientKey(req));
    const rows = await reader.setting.findMany({
      orderBy: { key: 'asc' },
      take: limit + 1,
      ...(cursor ? { where: { key: { gt: cursor } } } : {}),
    });
    const page = rows.slice(0, limit);
    res.set('x-served-by', target).json({ items: page.map(toDto), nextCursor: rows.length > limit ? page.at(-1)!.key : null });
  });

  router.get('/:key', async (req, res) => {
    const key = parseKey(req.params.key);
    const { db: reader, target } = db.forRead(clientKey(req));
    const setting = await reader.setting.findUnique({ where: { key } });
    if (!setting) throw new HttpError(404, 'not_found', `Setting "${key}" does not exist`);
    res.set('x-served-by', target).set('etag', etagOf(setting)).json(toDto(setting));
  });

  router.put(
    '/:key',
    (req, _res, next) => {
      if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
      next();
    },
    parseJson,
    async (req, res) => {
      const key = parseKey(req.params.key);
      // Before zod: its recursive JSON schema overflows the stack on thousands of levels (a 500).
      if (depthOf((req.body as { value?: unknown } | null)?.value) > MAX_DEPTH) throw new HttpError(400, 'value_too_deep', `Setting values may nest at most ${MAX_DEPTH} levels`);
      // JSON.parse keeps "__proto__" as a plain key, but copying the value would set a prototype and drop the data.
      if (hasProtoKey(req.body)) throw new HttpError(400, 'invalid_body', 'Invalid body: "__proto__" is not allowed as a key');
      const unstorable = unstorableText(req.body);
      if (unstorable) {
        throw new HttpError(400, 'invalid_text', `Invalid body${unstorable.length ? ` at ${unstorable.join('.')}` : ''}: NUL characters (\\u0000) and unpaired surrogates cannot be stored`);
      }
      const body = bodySchema.safeParse(req.body);
      if (!body.success) {
        const issue = body.error.issues[0];
        throw new HttpError(400, 'invalid_body', `Invalid body${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'bad input'}`);
      }
      const { value, description, scope } = body.data;
      if (Buffer.byteLength(JSON.stringify(value)) > MAX_VALUE_BYTES) {
        throw new HttpError(413, 'value_too_large', `Setting values are limited to ${MAX_VALUE_BYTES} bytes of JSON`);
      }
      if (depthOf(value) > MAX_DEPTH) throw new HttpError(400, 'value_too_deep', `Setting values may nest at most ${MAX_DEPTH} levels`);
      const jsonValue = value as NonNullable<typeof value>;
      const ifMatch = req.get('if-match');
      const write = () =>
        db.primary.$transaction(async (tx) => {
          // With If-Match the row is locked first, so two writers holding the same ETag cannot both pass.
          if (ifMatch !== undefined) await tx.$executeRaw`SELECT 1 FROM "settings" WHERE "key" = ${key} FOR UPDATE`;
          const existing = await tx.setting.findUnique({ where: { key } });
          if (!ifMatchAllows(ifMatch, existing)) throw preconditionFailed(key);
          const saved = await tx.setting.upsert({
            where: { key },
            create: { key, value: jsonValue, description: description ?? null, scope: scope ?? 'GLOBAL' },
            update: { value: jsonValue, ...(description !== undefined ? { description } : {}), ...(scope ? { scope } : {}), version: { increment: 1 } },
          });
          await tx.settingChange.create({ data: { settingKey: key, oldValue: existing?.value ?? undefined, newValue: jsonValue } });
          // From the row written, not the read before it: a racing PUT may have created it meanwhile.
          return { setting: saved, created: saved.version === 1 };
        });
      let result;
      for (let attempt = 1; ; attempt++) {
        try {
          result = await write();
          break;
        } catch (error) {
          // Racing creates of one key: the loser's insert hits the unique key (P2002); again, it updates.
          if (prismaCode(error) !== 'P2002' || attempt === 3) throw error;
        }
      }
      const { setting, created } = result;
      await db.recordWrite(clientKey(req));
      res.set('etag', etagOf(setting));
      if (created) res.location(`/api/v1/settings/${encodeURIComponent(key)}`);
      res.status(created ? 201 : 200).json(toDto(setting));
    },
  );

  router.delete('/:key', async (req, res) => {
    const key = parseKey(req.params.key);
    const ifMatch = req.get('if-match');
    const deleted = await db.primary.$transaction(async (tx) => {
      if (ifMatch !== undefined) {
        await tx.$executeRaw`SELECT 1 FROM "settings" WHERE "key" = ${key} FOR UPDATE`;
        if (!ifMatchAllows(ifMatch, await tx.setting.findUnique({ where: { key }, select: { id: true, version: true } }))) throw preconditionFailed(key);
      }
      // delete() returns the row it removed; a DELETE that lost the race to another finds none (P2025): a 404.
      const existing = await tx.setting.delete({ where: { key } }).catch((error: unknown) => {
        if (prismaCode(error) === 'P2025') return null;
        throw error;
      });
      if (!existing) return false;
      await tx.settingChange.create({ data: { settingKey: key, oldValue: existing.value ?? undefined } });
      return true;
    });
    if (!deleted) throw new HttpError(404, 'not_found', `Setting "${key}" does not exist`);
    await db.recordWrite(clientKey(req));
    res.status(204).end();
  });

  router.all('/', methodNotAllowed('GET, HEAD'));
  router.all('/:key', methodNotAllowed('GET, HEAD, PUT, DELETE'));
  return router;
}
