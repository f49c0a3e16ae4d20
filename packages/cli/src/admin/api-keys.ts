/**
 * API keys of the Settings API: created, listed and revoked by `digilog-db api-key`, checked by
 * the API on every request. A key reads `dlk_<id>.<secret>`: the id (a UUID) finds the row, the
 * secret (32 random bytes, base64url) is what proves possession.
 *
 * Only SHA-256(secret) is stored. A slow hash (scrypt, argon2) protects guessable passwords;
 * a 256-bit random secret cannot be guessed, so a stolen table yields nothing to brute-force,
 * and a fast hash keeps the check per request in microseconds instead of ~50 ms of CPU.
 * The stored and computed hashes are compared with crypto.timingSafeEqual.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { DigilogError } from '../errors.js';
import type { RunnerOptions } from '../config/runner-options.js';
import { withSession, type Session } from '../db/session.js';

export const API_KEY_SCOPES = ['settings:read', 'settings:write', 'metrics:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const KEY_PATTERN = /^dlk_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new key: its id, its secret (shown once) and the hash that is stored. */
export function generateApiKey(): { id: string; key: string; keyHash: string } {
  const id = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `dlk_${id}.${secret}`, keyHash: hashApiKeySecret(secret) };
}

/** The id and secret of a presented key, or undefined when it is not shaped like one. */
export function parseApiKey(raw: string): { id: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(raw);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Whether the secret hashes to the stored hex hash, compared in constant time. */
export function apiKeySecretMatches(secret: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(secret).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
  active: boolean;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The key itself: printed once, never stored. */
  key: string;
}

interface Row {
  id: string;
  name: string;
  scopes: string[] | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toInfo = (row: Row): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  scopes: row.scopes ?? [],
  createdAt: row.created_at.toISOString(),
  revokedAt: row.revoked_at?.toISOString() ?? null,
  active: row.revoked_at === null,
});

/** Validated scopes (at least one, each known), deduplicated in the table's order. */
export function parseScopes(scopes: readonly string[]): ApiKeyScope[] {
  const unknown = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new DigilogError('usage', `Unknown scope "${unknown[0]}"`, { hint: `Scopes: ${API_KEY_SCOPES.join(', ')}.` });
  if (scopes.length === 0) throw new DigilogError('usage', 'An API key needs at least one --scope', { hint: `Scopes: ${API_KEY_SCOPES.join(', ')}.` });
  return API_KEY_SCOPES.filter((s) => scopes.includes(s));
}

/** Runs fn; a missing api_keys table (migrations not applied) becomes one clear error. */
async function withKeysTable<T>(options: RunnerOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  return withSession(options, async (session) => {
    try {
      return await fn(session);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') {
        throw new DigilogError('pending', `The api_keys table does not exist in ${session.target.label}`, {
          hint: 'Apply the migrations first (`digilog-db migrate`, or start the API once), then create the key.',
        });
      }
      throw error;
    }
  });
}

export async function createApiKey(options: RunnerOptions, { name, scopes }: { name: string; scopes: readonly string[] }): Promise<CreatedApiKey> {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 100) throw new DigilogError('usage', 'An API key needs a --name of 1 to 100 characters', { hint: 'e.g. --name ci' });
  const granted = parseScopes(scopes);
  const { id, key, keyHash } = generateApiKey();
  const row = await withKeysTable(options, async ({ client }) => {
    const result = await client.query<Row>(
      'INSERT INTO "api_keys" ("id", "name", "key_hash", "scopes") VALUES ($1, $2, $3, $4) RETURNING "id", "name", "scopes", "created_at", "revoked_at"',
      [id, trimmed, keyHash, granted],
    );
    return result.rows[0]!;
  });
  return { ...toInfo(row), key };
}

export async function listApiKeys(options: RunnerOptions): Promise<ApiKeyInfo[]> {
  return withKeysTable(options, async ({ client }) => {
    const result = await client.query<Row>('SELECT "id", "name", "scopes", "created_at", "revoked_at" FROM "api_keys" ORDER BY "created_at", "id"');
    return result.rows.map(toInfo);
  });
}

/** Revokes a key (idempotent: revoking a revoked key keeps its first revocation time). */
export async function revokeApiKey(options: RunnerOptions, id: string): Promise<ApiKeyInfo & { alreadyRevoked: boolean }> {
  if (!UUID_PATTERN.test(id)) throw new DigilogError('usage', `"${id}" is not an API key id`, { hint: 'Run `digilog-db api-key list` to see the ids.' });
  return withKeysTable(options, async ({ client }) => {
    const before = await client.query<Row>('SELECT "id", "name", "scopes", "created_at", "revoked_at" FROM "api_keys" WHERE "id" = $1', [id.toLowerCase()]);
    if (before.rows.length === 0) throw new DigilogError('usage', `No API key with id ${id}`, { hint: 'Run `digilog-db api-key list` to see the ids.' });
    const result = await client.query<Row>(
      'UPDATE "api_keys" SET "revoked_at" = COALESCE("revoked_at", CURRENT_TIMESTAMP) WHERE "id" = $1 RETURNING "id", "name", "scopes", "created_at", "revoked_at"',
      [id.toLowerCase()],
    );
    return { ...toInfo(result.rows[0]!), alreadyRevoked: before.rows[0]!.revoked_at !== null };
  });
}
