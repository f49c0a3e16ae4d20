/**
 * The embedded database (PGlite) is an optional peer of @digilog/db, so a CLI-only install
 * (`pnpm deploy --prod`, a CI image) carries only the copy Prisma's CLI brings. Without it,
 * the embedded default is one config line naming the package and how to install it, or to
 * set DATABASE_URL. Node's own resolution error is translated: the built module is imported
 * by a real Node process, and a package that does not exist is imported through it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { REPO_ROOT } from '../support/migrations.js';

const MODULE = join(REPO_ROOT, 'packages', 'cli', 'dist', 'embedded', 'embedded-database.js');

/** importEmbedded(specifier) in a fresh Node process: what it resolved or threw. */
function importThrough(specifier: string): Record<string, unknown> {
  const script = `
    const m = await import(${JSON.stringify(MODULE)});
    try {
      const loaded = await m.importEmbedded(${JSON.stringify(specifier)});
      console.log(JSON.stringify({ loaded: Object.keys(loaded).includes('PGlite') ? 'PGlite' : Object.keys(loaded) }));
    } catch (e) {
      console.log(JSON.stringify({ name: e.constructor.name, kind: e.kind, exitCode: e.exitCode, code: e.code, message: e.message, hint: e.hint, details: e.details }));
    }`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('the embedded database as an optional dependency', () => {
  it('a package that is not installed: a config error (exit 2) naming it, the install command and DATABASE_URL', () => {
    const missing = importThrough('@electric-sql/pglite-not-installed');
    expect(missing).toEqual({
      name: 'DigilogError',
      kind: 'config',
      exitCode: EXIT_CODES.config,
      message: 'DATABASE_URL is not set and the embedded database is not installed (package @electric-sql/pglite-not-installed not found)',
      hint: 'Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DATABASE, or install the embedded database: pnpm add @electric-sql/pglite@0.5.16 @electric-sql/pglite-socket@0.2.17 (npm install @electric-sql/pglite@0.5.16 @electric-sql/pglite-socket@0.2.17).',
      details: { package: '@electric-sql/pglite-not-installed' },
    });
  });

  it('an installed package loads; another failure (a subpath the package does not export) is not disguised as "not installed"', () => {
    expect(importThrough('@electric-sql/pglite')).toEqual({ loaded: 'PGlite' });
    expect(importThrough('@electric-sql/pglite/no-such-entry')).toMatchObject({ name: 'Error', code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });

  it('@digilog/db lists PGlite as optional peers (dev dependencies for this repository), with the versions the message names', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'cli', 'package.json'), 'utf8'));
    const names = ['@electric-sql/pglite', '@electric-sql/pglite-socket'];
    for (const name of names) {
      expect(manifest.dependencies[name]).toBeUndefined();
      expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
    }
    expect({ pglite: manifest.devDependencies['@electric-sql/pglite'], socket: manifest.devDependencies['@electric-sql/pglite-socket'] }).toEqual({ pglite: '0.5.16', socket: '0.2.17' });
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 digilog-db contributors\n/);
  });
});
