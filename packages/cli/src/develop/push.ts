/** `push`: the schema straight to the database without a migration file (like `prisma db push`). */
import { NO_FILTERS, schemaContainer, withEngine, type EngineOptions } from '../engine/with-engine.js';
import { DigilogError } from '../errors.js';
import { refuseInProduction } from './production-guard.js';

export interface PushOptions extends EngineOptions {
  acceptDataLoss: boolean;
  production: boolean;
  force?: boolean;
}

export interface PushResult {
  executedSteps: number;
  warnings: string[];
}

/** Pushes the schema; refuses (exit 4) when a step would lose data and it was not accepted. */
export async function push(options: PushOptions): Promise<PushResult> {
  refuseInProduction(options, 'run `push`', 'push changes the schema without a migration. Deploy with `digilog-db migrate`.');
  const output = await withEngine(options, (engine) => engine.schemaPush({ schema: schemaContainer(options), force: options.acceptDataLoss, filters: NO_FILTERS }));
  if (output.unexecutable.length > 0) {
    throw new DigilogError('dangerous-blocked', `The schema cannot be pushed:\n${output.unexecutable.map((u) => `  • ${u}`).join('\n')}`, {
      hint: 'Make the change in steps (e.g. add the column as optional, fill it, then make it required).',
      details: { unexecutable: output.unexecutable },
    });
  }
  if (output.warnings.length > 0 && !options.acceptDataLoss) {
    throw new DigilogError('dangerous-blocked', `Pushing the schema would lose data; nothing was changed:\n${output.warnings.map((w) => `  • ${w}`).join('\n')}`, {
      hint: 'Pass --accept-data-loss to push anyway, or create a migration with `digilog-db dev`.',
      details: { warnings: output.warnings },
    });
  }
  return { executedSteps: output.executedSteps, warnings: output.warnings };
}
