/**
 * Strict JSON Schemas of Kubernetes kinds, for manifests checked offline. kubernetes-models' own
 * validators (compiled from the Kubernetes OpenAPI definitions) check types, formats and required
 * fields but accept any unknown field, so a misspelt `securityContxt:` would pass while the API
 * server (`kubectl apply`, strict field validation by default) refuses it. Here the same
 * definitions, as kubernetes-models' type declarations, become JSON Schemas (ts-json-schema-generator)
 * with `additionalProperties: false` on every object with fixed fields (maps such as labels keep
 * their value schema: any key), compiled by ajv in strict mode. This is what kubeconform -strict
 * does with its schemas; kubeconform itself is on neither npm nor Debian.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { REPO_ROOT } from './migrations.js';

/** Where the type of each `apiVersion kind` is declared in kubernetes-models, and its name. */
export interface KindDeclaration {
  module: string;
  type: string;
}

/** Checks one manifest: the empty list when it is valid, else one line per error (`/spec/template/spec: unknown field "securityContxt"`). */
export type ManifestCheck = (doc: unknown) => string[];

const describe = (error: ErrorObject): string => {
  const at = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') return `${at}: unknown field "${String(error.params.additionalProperty)}"`;
  return `${at}: ${error.message ?? error.keyword}`;
};

/**
 * Builds a strict check per `apiVersion kind` (one TypeScript program for all: about a second).
 * A document of a kind not listed is an error, so a new kind in deploy/ must be added on purpose.
 */
export function strictManifestChecker(kinds: Record<string, KindDeclaration>): ManifestCheck {
  // The package's real path: TypeScript resolves its dependencies (@kubernetes-models/base…) from there, not through pnpm's symlink.
  const root = realpathSync(dirname(createRequire(join(REPO_ROOT, 'package.json')).resolve('kubernetes-models/package.json')));
  const files = Object.values(kinds).map((k) => join(root, `${k.module}.d.ts`));
  const generator = createGenerator({
    path: files.length === 1 ? files[0] : `{${files.join(',')}}`,
    tsconfig: join(REPO_ROOT, 'tsconfig.base.json'),
    skipTypeCheck: true,
    additionalProperties: false,
    jsDoc: 'none',
  });
  // Strict mode (unknown keywords, ignored schema parts are errors); union types are how IntOrString is written.
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  const validators = new Map(Object.entries(kinds).map(([key, { type }]) => [key, ajv.compile(generator.createSchema(type))]));
  return (doc) => {
    const { apiVersion, kind } = (doc ?? {}) as { apiVersion?: unknown; kind?: unknown };
    const validate = validators.get(`${String(apiVersion)} ${String(kind)}`);
    if (!validate) return [`/: no schema for ${String(apiVersion)} ${String(kind)}`];
    return validate(doc) ? [] : (validate.errors ?? []).map(describe);
  };
}
