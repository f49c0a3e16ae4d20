/**
 * Which database the project's own configuration names. A Prisma 6 schema says
 * `url = env("POSTGRES_PRISMA_URL")` / `directUrl = env("POSTGRES_URL_NON_POOLING")`
 * (the usual Vercel Postgres setup); Prisma 7 moved the URL to `prisma.config.ts`
 * (`datasource: { url: env('DATABASE_URL') }`). Reading only DATABASE_URL, such a
 * project was migrated into a throwaway embedded database while the real one
 * stayed untouched. The files are read, never executed: `env("NAME")`,
 * `process.env.NAME` and string literals are understood, anything else is a
 * config error asking for `--url`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerUrlSecrets, requiredPostgresUrl, type Config } from './config.js';
import { DigilogError } from '../errors.js';

/** A datasource field: the variable it reads, or its literal value. */
export type DatasourceRef = { env: string } | { value: string };

export interface Datasource {
  /** The file it was read from (for messages). */
  file: string;
  url?: DatasourceRef;
  directUrl?: DatasourceRef;
  shadowDatabaseUrl?: DatasourceRef;
}

const FIELDS = ['url', 'directUrl', 'shadowDatabaseUrl'] as const;
type Field = (typeof FIELDS)[number];

const CONFIG_FILES = ['prisma.config.ts', 'prisma.config.mts', 'prisma.config.js', 'prisma.config.mjs'];

/** The schema's datasource block, else prisma.config.ts's `datasource` (Prisma 7), else undefined. */
export function readDatasource(schemaPath: string | undefined, projectDir: string): Datasource | undefined {
  const fromSchema = schemaPath && existsSync(schemaPath) ? readSchemaDatasource(schemaPath) : undefined;
  if (fromSchema) return fromSchema;
  for (const name of CONFIG_FILES) {
    const file = join(projectDir, name);
    if (existsSync(file)) return readConfigDatasource(file);
  }
  return undefined;
}

/** `datasource db { url = env("X") directUrl = env("Y") }` (comments stripped). */
function readSchemaDatasource(file: string): Datasource | undefined {
  const text = readFileSync(file, 'utf8').replace(/(^|\s)\/\/.*$/gm, '$1');
  const block = /^\s*datasource\s+\w+\s*\{([^}]*)\}/m.exec(text)?.[1];
  if (block === undefined) return undefined;
  const found: Datasource = { file };
  for (const field of FIELDS) {
    const line = new RegExp(`^\\s*${field}\\s*=\\s*(.+?)\\s*$`, 'm').exec(block)?.[1];
    if (line === undefined) continue;
    found[field] = parseValue(line, file, field) ?? unreadable(file, field, line);
  }
  return found.url || found.directUrl || found.shadowDatabaseUrl ? found : undefined;
}

/** The `datasource: { ... }` object of prisma.config.ts, by its text. */
function readConfigDatasource(file: string): Datasource | undefined {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const start = /\bdatasource\s*:\s*\{/.exec(text);
  if (!start) return undefined;
  const body = balancedBody(text, start.index + start[0].length);
  const found: Datasource = { file };
  for (const field of FIELDS) {
    const value = new RegExp(`(?:^|[{,\\s])${field}\\s*:\\s*([^,}\\n]+)`).exec(body)?.[1]?.trim();
    if (value === undefined) continue;
    found[field] = parseValue(value, file, field) ?? unreadable(file, field, value);
  }
  return found.url || found.directUrl || found.shadowDatabaseUrl ? found : undefined;
}

function balancedBody(text: string, from: number): string {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(from, i);
  }
  return text.slice(from);
}

function parseValue(raw: string, _file: string, _field: Field): DatasourceRef | undefined {
  const value = raw.replace(/[;,]$/, '').trim();
  const env = /^env(?:<[^>]*>)?\(\s*(['"`])([A-Za-z_][A-Za-z0-9_]*)\1\s*\)$/.exec(value);
  if (env) return { env: env[2]! };
  const processEnv = /^process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\2\s*\])(?:\s*!)?$/.exec(value);
  if (processEnv) return { env: processEnv[1] ?? processEnv[3]! };
  const literal = /^(['"`])([^'"`]*)\1$/.exec(value);
  if (literal && !value.startsWith('`')) return { value: literal[2]! };
  return undefined;
}

function unreadable(file: string, field: Field, value: string): never {
  throw new DigilogError('config', `Cannot read datasource.${field} in ${file}: digilog-db understands env("NAME"), process.env.NAME or a string, not ${value.slice(0, 60)}`, {
    hint: 'Write it as env("NAME"), or pass --url postgresql://… (or set DATABASE_URL with no url in the datasource).',
    details: { file, field },
  });
}

/**
 * The URLs to use, by precedence: `--url`; the variables the datasource names (migrations run
 * on `directUrl` when there is one, as Prisma's do); DATABASE_URL. A variable the datasource
 * names that is unset is a config error naming it, except DATABASE_URL, whose absence keeps
 * meaning "the embedded default" (withEmbeddedDefault decides whether that is allowed).
 */
export function applyDatasource(
  config: Config,
  env: Record<string, string | undefined>,
  { datasource, url }: { datasource: Datasource | undefined; url?: string | undefined },
): Config {
  if (url !== undefined) {
    registerUrlSecrets(url);
    const checked = checkUrl('--url', url);
    return { ...config, databaseUrl: checked, applicationUrl: undefined };
  }
  if (!datasource) return config;
  const resolve = (field: Field, optional: boolean): string | undefined => {
    const ref = datasource[field];
    if (!ref) return undefined;
    if ('value' in ref) {
      registerUrlSecrets(ref.value);
      return checkUrl(`datasource.${field} in ${datasource.file}`, ref.value);
    }
    const value = env[ref.env];
    registerUrlSecrets(value);
    if (value === undefined) {
      if (ref.env === 'DATABASE_URL' || optional) return undefined;
      throw new DigilogError('config', `${ref.env} is not set (the datasource's ${field} in ${datasource.file} reads it)`, {
        hint: `Set ${ref.env}=postgresql://USER:PASSWORD@HOST:5432/DATABASE, or pass --url.`,
        details: { variable: ref.env, file: datasource.file, field },
      });
    }
    return checkUrl(ref.env, value);
  };
  const runtime = resolve('url', false);
  // A datasource without directUrl still migrates on DIRECT_URL when it is set (loadConfig put it in databaseUrl).
  const direct = resolve('directUrl', false) ?? (env.DIRECT_URL?.trim() ? config.databaseUrl : undefined);
  const shadow = resolve('shadowDatabaseUrl', true);
  // A datasource naming only DATABASE_URL keeps the DIRECT_URL split loadConfig made.
  if (!direct && runtime !== undefined && runtime === config.applicationUrl) return { ...config, shadowDatabaseUrl: shadow ?? config.shadowDatabaseUrl };
  const migrations = direct ?? runtime;
  return {
    ...config,
    databaseUrl: migrations ?? config.databaseUrl,
    applicationUrl: direct && runtime && runtime !== direct ? runtime : undefined,
    shadowDatabaseUrl: shadow ?? config.shadowDatabaseUrl,
  };
}

function checkUrl(name: string, value: string): string {
  const parsed = requiredPostgresUrl.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DigilogError('config', `${name} ${parsed.error.issues[0]!.message}`, {
    hint: `Fix ${name} (see README, "Configuration").`,
    details: { variable: name },
  });
}
