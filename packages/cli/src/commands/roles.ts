/** `digilog-db roles`: prints (default) or applies the migration and application roles and their grants. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { loadConfig, registerUrlSecrets, requiredPostgresUrl } from '../config/config.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { registerSecret } from '../redact.js';
import { commandTerminal, outcomeOf } from './common.js';

interface RolesFlags {
  print?: boolean;
  apply?: boolean;
  migrator: string;
  app: string;
  url?: string;
  json?: boolean;
}

export function register(program: Command, run: Run): void {
  program
    .command('roles')
    .description('print (default) or apply a migration role owning the schema and an application role with DML only')
    .option('--print', 'print the SQL with password placeholders (the default; connects to nothing)')
    .option('--apply', 'run it, as a superuser: --url or DATABASE_URL (passwords from DIGILOG_MIGRATOR_PASSWORD, DIGILOG_APP_PASSWORD)')
    .option('--migrator <name>', 'migration role: owns the schema, runs DDL (DIRECT_URL)', 'digilog_migrator')
    .option('--app <name>', 'application role: SELECT/INSERT/UPDATE/DELETE only (DATABASE_URL)', 'digilog_app')
    .option('--url <url>', 'superuser URL for --apply; its ?schema= names the schema (default public)')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
Passwords are read from DIGILOG_MIGRATOR_PASSWORD and DIGILOG_APP_PASSWORD, never from the command
line, and never printed; --apply sends SCRAM verifiers, not the passwords. A role that exists keeps its
password when its variable is unset. Safe to run again (after a schema was migrated as a superuser, too).

Examples:
  $ digilog-db roles > roles.sql
  $ DIGILOG_MIGRATOR_PASSWORD=... DIGILOG_APP_PASSWORD=... DATABASE_URL=postgresql://postgres:...@db/app digilog-db roles --apply`,
    )
    .action(outcomeOf(run, async (flags: RolesFlags) => {
      const terminal = commandTerminal(run, flags);
      if (flags.print && flags.apply) throw new DigilogError('usage', '--print and --apply cannot be combined', { hint: 'Print the SQL, or apply it.' });
      const { PASSWORD_VARIABLES, applyRoles, checkRoleNames, rolesPlan } = await import('../admin/roles.js');
      checkRoleNames(flags);
      const passwords = { migrator: secretFrom(PASSWORD_VARIABLES.migrator), app: secretFrom(PASSWORD_VARIABLES.app) };
      const adminUrl = flags.url ?? (process.env.DATABASE_URL?.trim() ? process.env.DATABASE_URL : undefined);
      registerUrlSecrets(adminUrl);
      const config = loadConfig({ ...process.env, DATABASE_URL: undefined, DIRECT_URL: undefined });
      const checked = adminUrl === undefined ? undefined : requiredPostgresUrl.safeParse(adminUrl);
      if (checked && !checked.success) {
        const name = flags.url !== undefined ? '--url' : 'DATABASE_URL';
        throw new DigilogError('config', `${name} ${checked.error.issues[0]!.message}`, { hint: `Fix ${name}.`, details: { variable: name } });
      }
      const schema = checked ? (new URL(checked.data).searchParams.get('schema') || 'public') : 'public';
      const statements = rolesPlan({ migrator: flags.migrator, app: flags.app, schema }).map((step) => step.sql);
      const roles = (created: (which: 'migrator' | 'app') => boolean | null) =>
        Object.fromEntries((['migrator', 'app'] as const).map((which) => [which, { name: flags[which], passwordVariable: PASSWORD_VARIABLES[which], passwordSet: flags.apply ? passwords[which] !== undefined : false, created: created(which) }]));
      if (!flags.apply) {
        return {
          exitCode: EXIT_CODES.ok,
          json: { ok: true, action: 'print', database: null, schema, ...roles(() => null), statements },
          render: () => void process.stdout.write(`-- digilog-db roles: run as a superuser in the database to migrate; replace the <...> placeholders.\n${statements.join('\n')}\n`),
        };
      }
      if (!checked) {
        throw new DigilogError('config', 'roles --apply needs a superuser URL: neither --url nor DATABASE_URL is set', { hint: 'Set DATABASE_URL=postgresql://postgres:PASSWORD@HOST:5432/DATABASE for this one command, or pass --url.' });
      }
      const result = await applyRoles({ adminUrl: checked.data, migrator: flags.migrator, app: flags.app, schema, passwords, connectRetries: config.connectRetries, connectTimeoutMs: config.connectTimeoutMs });
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, action: 'apply', database: result.database, schema, ...roles((which) => result[which].created), statements },
        render: () => {
          for (const which of ['migrator', 'app'] as const) {
            const r = result[which];
            terminal.out(`${r.created ? 'Created' : 'Updated'} role ${r.name}${r.passwordSet ? ' (password set)' : ' (password unchanged)'}`);
          }
          terminal.out(`Granted on ${result.database}, schema "${schema}": ${flags.migrator} owns it and runs migrations (DIRECT_URL), ${flags.app} reads and writes its tables (DATABASE_URL).`);
        },
      };
    }));
}

/** A password variable: registered for redaction before anything can print; empty means unset. */
function secretFrom(name: string): string | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  registerSecret(value);
  registerSecret(encodeURIComponent(value));
  return value;
}
