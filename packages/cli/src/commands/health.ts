/** `digilog-db health`: the report of GET /api/v1/health/db, for scripts and container HEALTHCHECKs. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('health'))
    .description('check the database like GET /api/v1/health/db; exit 0 only when healthy')
    .addHelpText(
      'after',
      `
Exit codes: 0 healthy or degraded-but-serving (e.g. replica down), 8 unhealthy.

Examples:
  $ digilog-db health --json
  HEALTHCHECK CMD ["digilog-db", "health"]`,
    )
    .action(outcomeOf(run, async (flags: CommonFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags);
      const { checkHealth } = await import('../health/check-health.js');
      const { healthBody, httpStatusOf } = await import('../health/body.js');
      const { ReplicaProbe } = await import('../health/replica.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      const runner = runnerOptions(config, paths);
      const replica = config.replicaUrl ? new ReplicaProbe(config.replicaUrl, runner.target.schema) : undefined;
      try {
        const snapshot = await checkHealth({ runner, replica, boot: { action: 'cli', reason: 'digilog-db health' } });
        const body = healthBody(snapshot, 'db');
        return {
          exitCode: httpStatusOf(body) === 200 ? EXIT_CODES.ok : EXIT_CODES.unreachable,
          json: body,
          render: () => {
            const color = body.status === 'healthy' ? terminal.color.green : body.status === 'degraded' ? terminal.color.yellow : terminal.color.red;
            terminal.out(`${color(body.status)}: ${body.database.message}`);
            terminal.out(`migrations: ${String(body.database.details.migrationStatus)}`);
            const replicaDetails = body.database.details.replica as Record<string, unknown> | undefined;
            if (replicaDetails) terminal.out(`replica: ${JSON.stringify(replicaDetails)}`);
          },
        };
      } finally {
        await replica?.close();
      }
    }));
}
