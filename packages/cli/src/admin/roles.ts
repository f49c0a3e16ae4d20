/**
 * Least privilege: a migration role that owns the schema and runs DDL, and an
 * application role with DML only. The plan is pure data (printed by
 * `digilog-db roles`, run by `--apply`); passwords never enter it: the printed
 * SQL has placeholders and `--apply` sends SCRAM verifiers computed here, so
 * not even the server's statement log sees a password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { DigilogError } from '../errors.js';
import { connect } from '../db/connect.js';
import { parseTarget, quoteIdent, quoteLiteral } from '../config/target.js';
import { MIGRATIONS_TABLE } from '../db/history.js';

/** The variables the two passwords are read from (never a command-line argument). */
export const PASSWORD_VARIABLES = { migrator: 'DIGILOG_MIGRATOR_PASSWORD', app: 'DIGILOG_APP_PASSWORD' } as const;

export interface RolesOptions {
  migrator: string;
  app: string;
  /** The schema the migrations manage (the URL's `?schema=`, default public). */
  schema: string;
}

/** One step: the SQL to print, and what `--apply` sends (they differ only where a password goes). */
export interface RoleStatement {
  sql: string;
  password?: { role: 'migrator' | 'app' };
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Usage errors for names that PostgreSQL would fold, quote or refuse, and for one role playing both parts. */
export function checkRoleNames({ migrator, app }: Pick<RolesOptions, 'migrator' | 'app'>): void {
  for (const [flag, name] of [['--migrator', migrator], ['--app', app]] as const) {
    if (!ROLE_NAME.test(name) || name.startsWith('pg_')) {
      throw new DigilogError('usage', `${flag} "${name.slice(0, 70)}" is not a usable role name`, { hint: 'Use lower-case letters, digits and _ (at most 63, not starting with pg_).', details: { flag } });
    }
  }
  if (migrator === app) throw new DigilogError('usage', '--migrator and --app must be two different roles', { hint: 'The point is that the application role cannot run DDL.' });
}

/** The whole plan, in order; idempotent, so `--apply` can be run again after every change of it. */
export function rolesPlan({ migrator, app, schema }: RolesOptions): RoleStatement[] {
  const m = quoteIdent(migrator);
  const a = quoteIdent(app);
  const s = quoteIdent(schema);
  const history = quoteLiteral(`${s}.${quoteIdent(MIGRATIONS_TABLE)}`);
  const role = (name: string, q: string, which: 'migrator' | 'app'): RoleStatement[] => [
    { sql: `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(name)}) THEN CREATE ROLE ${q}; END IF; END $$;` },
    { sql: `ALTER ROLE ${q} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;` },
    { sql: `ALTER ROLE ${q} PASSWORD '<${PASSWORD_VARIABLES[which]}>';`, password: { role: which } },
  ];
  return [
    ...role(migrator, m, 'migrator'),
    ...role(app, a, 'app'),
    // CREATE on the database: Prisma and digilog-db run CREATE SCHEMA IF NOT EXISTS, which checks it first.
    { sql: `DO $$ BEGIN EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO ${m}', current_database()); EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${a}', current_database()); END $$;` },
    { sql: `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION ${m};` },
    { sql: `ALTER SCHEMA ${s} OWNER TO ${m};` },
    { sql: `REVOKE CREATE ON SCHEMA ${s} FROM PUBLIC, ${a};` },
    { sql: `GRANT USAGE ON SCHEMA ${s} TO ${a};` },
    // A schema migrated as another role (a superuser, before this command): the migrator must own
    // what its next migrations alter. Sequences of a column and array types follow their owner.
    {
      sql: `DO $$ DECLARE item record; BEGIN
  FOR item IN SELECT c.oid::regclass::text AS name FROM pg_class c
    WHERE c.relnamespace = ${quoteLiteral(schema)}::regnamespace AND c.relkind IN ('r','p','v','m','f','S') AND c.relowner <> ${quoteLiteral(migrator)}::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a','i'))
  LOOP EXECUTE format('ALTER TABLE %s OWNER TO ${m}', item.name); END LOOP;
  FOR item IN SELECT t.oid::regtype::text AS name FROM pg_type t
    WHERE t.typnamespace = ${quoteLiteral(schema)}::regnamespace AND t.typtype IN ('e','d','r') AND t.typowner <> ${quoteLiteral(migrator)}::regrole
  LOOP EXECUTE format('ALTER TYPE %s OWNER TO ${m}', item.name); END LOOP;
END $$;`,
    },
    { sql: `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${a};` },
    { sql: `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${a};` },
    // Tables and sequences the migrator creates later get the same grants, without running this again.
    { sql: `ALTER DEFAULT PRIVILEGES FOR ROLE ${m} IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${a};` },
    { sql: `ALTER DEFAULT PRIVILEGES FOR ROLE ${m} IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${a};` },
    // ... except the history, readable (status, health) but never writable by the application.
    // When digilog-db creates it later, it revokes the default grants itself (MigrationHistory.create).
    {
      sql: `DO $$ BEGIN IF to_regclass(${history}) IS NOT NULL THEN
  EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM ${a}', ${history});
  EXECUTE format('GRANT SELECT ON %s TO ${a}', ${history});
END IF; END $$;`,
    },
  ];
}

/**
 * A SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's stored format), as `\password` sends it.
 * The password is used as its UTF-8 bytes, which is what SASLprep leaves of printable ASCII.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export interface ApplyRolesOptions extends RolesOptions {
  /** A superuser's (or a CREATEROLE database owner's) URL. */
  adminUrl: string;
  passwords: { migrator: string | undefined; app: string | undefined };
  connectRetries: number;
  connectTimeoutMs: number;
}

export interface RoleReport {
  name: string;
  created: boolean;
  passwordSet: boolean;
}

export interface ApplyRolesResult {
  database: string;
  migrator: RoleReport;
  app: RoleReport;
}

/** Runs the plan in one transaction: all of it or, on any error, nothing. */
export async function applyRoles(options: ApplyRolesOptions): Promise<ApplyRolesResult> {
  checkRoleNames(options);
  const target = parseTarget(options.adminUrl);
  const client = await connect(target, { retries: options.connectRetries, connectTimeoutMs: options.connectTimeoutMs, applicationName: `digilog-db roles pid=${process.pid}` });
  try {
    const existing = await client.query<{ rolname: string; rolsuper: boolean; current: boolean }>(
      `SELECT rolname, rolsuper, rolname = current_user AS current FROM pg_roles WHERE rolname = ANY($1)`,
      [[options.migrator, options.app]],
    );
    for (const row of existing.rows) {
      // ALTER ROLE ... NOSUPERUSER would demote the administrator running this.
      if (row.rolsuper || row.current) {
        throw new DigilogError('usage', `Role "${row.rolname}" is ${row.rolsuper ? 'a superuser' : 'the role connected'}: it cannot become the ${row.rolname === options.migrator ? 'migration' : 'application'} role`, {
          hint: 'Choose other names with --migrator/--app (defaults: digilog_migrator, digilog_app).',
          details: { role: row.rolname },
        });
      }
    }
    const exists = (name: string) => existing.rows.some((row) => row.rolname === name);
    for (const which of ['migrator', 'app'] as const) {
      if (!exists(options[which]) && options.passwords[which] === undefined) {
        throw new DigilogError('config', `${PASSWORD_VARIABLES[which]} is not set: role "${options[which]}" does not exist yet and needs a password`, {
          hint: `Set ${PASSWORD_VARIABLES[which]} in the environment (never on the command line), then run again.`,
          details: { variable: PASSWORD_VARIABLES[which] },
        });
      }
    }
    await client.query('BEGIN');
    try {
      for (const step of rolesPlan(options)) {
        if (!step.password) {
          await client.query(step.sql);
          continue;
        }
        const password = options.passwords[step.password.role];
        if (password === undefined) continue;
        await client.query(`ALTER ROLE ${quoteIdent(options[step.password.role])} PASSWORD ${quoteLiteral(scramVerifier(password))}`);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw permissionError(error, target.label);
    }
    const report = (which: 'migrator' | 'app'): RoleReport => ({ name: options[which], created: !exists(options[which]), passwordSet: options.passwords[which] !== undefined });
    return { database: target.label, migrator: report('migrator'), app: report('app') };
  } finally {
    await client.end().catch(() => {});
  }
}

/** 42501 while granting: the URL's role may not manage roles or the schema. */
function permissionError(error: unknown, label: string): unknown {
  const e = error as { code?: string; message?: string };
  if (e.code !== '42501') return error;
  return new DigilogError('config', `Permission denied on ${label}: ${e.message ?? 'insufficient privilege'} (nothing was changed)`, {
    hint: 'Run `digilog-db roles --apply` with a superuser URL (or the database owner with CREATEROLE).',
  });
}
