/**
 * The history checks a deploy makes once the lock is held, before anything is planned: failed
 * migrations (P3009), an unmanaged schema (P3005), edited, renamed, missing or out-of-order ones.
 */
import type { StatusReport } from '../status/diagnose.js';
import { DigilogError } from '../errors.js';
import { resolveApplied, resolveRolledBack } from '../status/next-steps.js';

/** What the history checks depend on (migrate's options carry them). */
export interface DeployableChecks {
  production: boolean;
  allowModifiedHistory?: boolean;
  allowOutOfOrder?: boolean;
  allowMissingHistory?: boolean;
}

/** Throws when deploying would be unsafe; returns warnings for what is only worth saying. Pure. */
export function checkDeployable(report: StatusReport, options: DeployableChecks): string[] {
  if (report.failed.length > 0) {
    const list = report.failed
      .map((f) => `  ${f.name} (started ${f.startedAt.toISOString()})${f.logs ? `\n${indent(f.logs)}` : ''}`)
      .join('\n');
    throw new DigilogError('failed-migration', `Migrations failed in the database; no new migration is applied until they are resolved:\n${list}`, {
      prismaCode: 'P3009',
      hint: report.failed
        .map((f) => `${resolveRolledBack(f.name)} (after undoing it)  or  ${resolveApplied(f.name)} (if you completed it by hand)`)
        .join('\n'),
      details: { failed: report.failed.map((f) => ({ name: f.name, startedAt: f.startedAt.toISOString(), logs: f.logs })) },
    });
  }
  if (!report.tableExists && !report.schemaEmpty) {
    throw new DigilogError('not-managed', 'The database schema is not empty and has no migration history', {
      prismaCode: 'P3005',
      hint: `Baseline it: for each migration already reflected in the database run \`${resolveApplied('<name>')}\`, then \`digilog-db migrate\`.`,
    });
  }
  if (report.edited.length > 0 && !options.allowModifiedHistory) {
    const list = report.edited.map((e) => `  ${e.name}: recorded ${e.recordedChecksum}, file ${e.fileChecksum} (${e.path})`).join('\n');
    throw new DigilogError('history-mismatch', `Applied migrations were modified after they were applied:\n${list}`, {
      hint: 'Restore the original files (git checkout) and put changes in a new migration; pass --allow-modified-history to deploy anyway.',
      details: { edited: report.edited },
    });
  }
  if (report.renamed.length > 0) {
    // Same content under a new folder name: applying it would run an applied script a second time.
    const list = report.renamed.map((r) => `  ${r.from} → ${r.to}`).join('\n');
    throw new DigilogError('history-mismatch', `Applied migrations were renamed on disk (same content, new folder name); nothing is applied until the rename is recorded:\n${list}`, {
      hint: `Record each rename: ${report.renamed.map((r) => resolveApplied(r.to)).join('  and  ')} (the old name stays in the history); or rename the folder back.`,
      details: { renamed: report.renamed },
    });
  }
  // With nothing pending nothing is applied: an older replica of a rolling deploy is in this state and may start.
  if (report.missingFromDisk.length > 0 && report.pending.length > 0 && options.production && !options.allowMissingHistory) {
    throw new DigilogError('history-mismatch', `Applied migrations are missing from the migrations folder: ${report.missingFromDisk.join(', ')} (refused in production)`, {
      hint: 'Deploy from a checkout that has every applied migration (an old or wrong branch?), or pass --allow-missing-history if they were removed on purpose.',
      details: { missingFromDisk: report.missingFromDisk },
    });
  }
  const warnings: string[] = [];
  if (report.edited.length > 0) warnings.push(`Modified after being applied: ${report.edited.map((e) => e.name).join(', ')}`);
  if (report.missingFromDisk.length > 0) {
    warnings.push(`Applied to the database but missing from the migrations folder: ${report.missingFromDisk.join(', ')}`);
  }
  if (report.outOfOrder.length > 0) {
    const message = `Migrations older than the newest applied one: ${report.outOfOrder.join(', ')}`;
    if (options.production && !options.allowOutOfOrder) {
      throw new DigilogError('history-mismatch', `${message} (refused in production)`, {
        hint: 'Rename the folder so it sorts after the applied ones, or pass --allow-out-of-order.',
        details: { outOfOrder: report.outOfOrder },
      });
    }
    warnings.push(message);
  }
  return warnings;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}
