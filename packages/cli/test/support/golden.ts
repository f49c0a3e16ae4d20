/**
 * Golden files (test/fixtures/golden/) and the validators the CI formats are checked with:
 * the SARIF 2.1.0 JSON Schema (as @microsoft/jest-sarif ships it) and the repository's own
 * JSON Schemas (packages/cli/schemas/), both through ajv. UPDATE_GOLDEN=1 rewrites the goldens.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { FIXTURES, REPO_ROOT } from './migrations.js';

const require = createRequire(import.meta.url);
export const GOLDEN_DIR = join(FIXTURES, 'golden');
export const SCHEMAS_DIR = join(REPO_ROOT, 'packages', 'cli', 'schemas');

/** Compares `actual` with the golden file (relative to GOLDEN_DIR); with UPDATE_GOLDEN=1 writes it instead. */
export function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1 to write it`).toBe(true);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
let sarifValidator: Validate | undefined;

/** The SARIF 2.1.0 schema's validator (draft-04 schema, formats checked). */
export function validateSarif(log: unknown): string[] {
  if (!sarifValidator) {
    const Ajv = require('ajv-draft-04') as new (options: object) => { compile(schema: object): Validate };
    const addFormats = require('ajv-formats') as (ajv: object) => void;
    // The schema's language pattern is not valid with the u flag (ajv's default), only as a plain RegExp.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    sarifValidator = ajv.compile(require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object);
  }
  return sarifValidator(log) ? [] : (sarifValidator.errors ?? []).map((e) => JSON.stringify(e));
}

const commandValidators = new Map<string, Validate>();

/** Validates a --json document against packages/cli/schemas/<command>.schema.json (draft 2020-12). */
export function validateJson(command: string, document: unknown): string[] {
  let validate = commandValidators.get(command);
  if (!validate) {
    const Ajv = require('ajv/dist/2020') as new (options: object) => { compile(schema: object): Validate; addSchema(schema: object): void };
    const addFormats = require('ajv-formats') as (ajv: object) => void;
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'common.schema.json'), 'utf8')) as object);
    validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS_DIR, `${command}.schema.json`), 'utf8')) as object);
    commandValidators.set(command, validate);
  }
  return validate(document) ? [] : (validate.errors ?? []).map((e) => JSON.stringify(e));
}
