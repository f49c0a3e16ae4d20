/**
 * API keys for tests, made as an operator makes them: `digilog-db api-key create --json` (the
 * real, built CLI) against the test's database, after the API has migrated it.
 */
import { expect } from 'vitest';
import { runCli } from '../../../cli/test/support/cli.js';

export interface TestKey {
  id: string;
  /** The key (`dlk_<id>.<secret>`), as printed once at creation. */
  key: string;
  scopes: string[];
  /** `{ authorization: 'Bearer <key>' }`, for fetch. */
  headers: Record<string, string>;
}

export async function createKey(databaseUrl: string, scopes: string[], name = `test-${scopes.join('-')}`): Promise<TestKey> {
  const run = await runCli(['api-key', 'create', '--name', name, ...scopes.flatMap((s) => ['--scope', s]), '--json', '--url', databaseUrl]);
  expect(run.code, run.stderr).toBe(0);
  const doc = JSON.parse(run.stdout) as { id: string; key: string; scopes: string[] };
  return { id: doc.id, key: doc.key, scopes: doc.scopes, headers: { authorization: `Bearer ${doc.key}` } };
}

export async function revokeKey(databaseUrl: string, id: string): Promise<void> {
  const run = await runCli(['api-key', 'revoke', id, '--json', '--url', databaseUrl]);
  expect(run.code, run.stderr).toBe(0);
}
