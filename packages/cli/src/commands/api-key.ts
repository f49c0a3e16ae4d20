/**
 * `digilog-db api-key create|list|revoke`: the Settings API's keys. The key is printed once, at
 * creation (only its hash is stored); several keys can be active at once, for rotation.
 */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { EXIT_CODES } from '../errors.js';
import type { ApiKeyInfo } from '../admin/api-keys.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface CreateFlags extends CommonFlags {
  name: string;
  scope: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function context(run: Run, flags: CommonFlags) {
  const { config, paths, terminal } = await commandContext(run, flags);
  const { runnerOptions } = await import('../config/runner-options.js');
  return { options: runnerOptions(config, paths), terminal, keys: await import('../admin/api-keys.js') };
}

const describeKey = (k: ApiKeyInfo) => `${k.id}  ${k.active ? 'active ' : 'revoked'}  ${k.scopes.join(',')}  ${k.name}  (created ${k.createdAt}${k.revokedAt ? `, revoked ${k.revokedAt}` : ''})`;

export function register(program: Command, run: Run): void {
  const apiKey = program.command('api-key').description('create, list and revoke the Settings API keys (stored hashed; the key is shown once)');
  withCommonOptions(apiKey.command('create'))
    .description('create a key and print it once')
    .requiredOption('--name <name>', 'who or what uses the key (e.g. ci, prometheus)')
    .option('--scope <scope>', 'a granted scope: settings:read, settings:write, metrics:read (repeatable)', collect, [])
    .addHelpText('after', '\nExamples:\n  $ digilog-db api-key create --name ci --scope settings:read --scope settings:write\n  $ digilog-db api-key create --name prometheus --scope metrics:read --json | jq -r .key')
    .action(outcomeOf(run, async (flags: CreateFlags) => {
      const { options, terminal, keys } = await context(run, flags);
      const created = await keys.createApiKey(options, { name: flags.name, scopes: flags.scope });
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...created },
        render: () => {
          terminal.out(created.key);
          terminal.err(`Created API key ${created.id} (${created.name}: ${created.scopes.join(', ')}). It is shown only now; store it as a secret.`);
        },
      };
    }));
  withCommonOptions(apiKey.command('list'))
    .description('list the keys (ids, names, scopes, state; never the keys themselves)')
    .action(outcomeOf(run, async (flags: CommonFlags) => {
      const { options, terminal, keys } = await context(run, flags);
      const list = await keys.listApiKeys(options);
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, keys: list },
        render: () => {
          if (list.length === 0) terminal.out('No API keys. Create one with `digilog-db api-key create --name <name> --scope <scope>`.');
          else for (const k of list) terminal.out(describeKey(k));
        },
      };
    }));
  withCommonOptions(apiKey.command('revoke'))
    .description('revoke a key: the API refuses it from the next request on')
    .argument('<id>', 'the key id (from `api-key list` or creation)')
    .action(outcomeOf(run, async (id: string, flags: CommonFlags) => {
      const { options, terminal, keys } = await context(run, flags);
      const revoked = await keys.revokeApiKey(options, id);
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...revoked },
        render: () => {
          terminal.out(revoked.alreadyRevoked ? `API key ${revoked.id} was already revoked (${revoked.revokedAt}).` : `Revoked API key ${revoked.id} (${revoked.name}).`);
        },
      };
    }));
}
