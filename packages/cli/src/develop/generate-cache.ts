/**
 * `generate` is skipped when nothing it depends on changed: the schema text,
 * the Prisma version and the output folder's marker. Prisma itself always
 * regenerates (~1.5 s here); build scripts call generate on every build.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { sha256Hex } from '../read/checksum.js';

const MARKER = '.digilog-generate';

/** The generator's output folder as the schema declares it (`output = "…"`), or null. */
export function generatorOutput(schemaPath: string, schemaText: string): string | null {
  const block = /generator\s+\w+\s*\{([^}]*)\}/.exec(schemaText)?.[1] ?? '';
  const output = /^\s*output\s*=\s*"([^"]+)"/m.exec(block)?.[1];
  return output ? resolve(dirname(schemaPath), output) : null;
}

function fingerprint(schemaText: string): string {
  const version = (createRequire(import.meta.url)('prisma/package.json') as { version: string }).version;
  return sha256Hex(`${version}\n${schemaText}`);
}

/** Whether the client in the output folder was generated from exactly this schema by this Prisma. */
export function isGenerateUpToDate(schemaPath: string): boolean {
  const text = readFileSync(schemaPath, 'utf8');
  const output = generatorOutput(schemaPath, text);
  if (!output || !existsSync(join(output, MARKER))) return false;
  return readFileSync(join(output, MARKER), 'utf8').trim() === fingerprint(text);
}

/** Records what the client in the output folder was generated from. */
export function markGenerated(schemaPath: string): void {
  const text = readFileSync(schemaPath, 'utf8');
  const output = generatorOutput(schemaPath, text);
  if (output && existsSync(output)) writeFileSync(join(output, MARKER), `${fingerprint(text)}\n`);
}
