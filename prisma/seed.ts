/**
 * DigiLog's default settings. Idempotent: existing keys are left exactly as
 * they are (an operator may have changed them), so a second run changes
 * nothing. Run with `digilog-db seed` (or `pnpm db:seed`).
 */
import { parseTarget } from '@digilog/db';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../packages/api/src/generated/prisma/client.js';

export const DEFAULT_SETTINGS = [
  { key: 'logging.retention_days', value: 30, description: 'Days to keep log entries before they are purged' },
  { key: 'logging.level', value: 'info', description: 'Minimum level of entries accepted by the log ingester' },
  { key: 'ingest.max_batch_size', value: 500, description: 'Largest number of log entries accepted in one request' },
  { key: 'ingest.rate_limit_per_minute', value: 6000, description: 'Entries per minute accepted from one client' },
  { key: 'alerts.enabled', value: true, description: 'Whether alert rules are evaluated' },
  { key: 'alerts.channels', value: ['email'], description: 'Where alerts are delivered' },
  { key: 'ui.theme', value: 'system', description: 'Default colour theme of the DigiLog console' },
  { key: 'export.formats', value: ['json', 'csv'], description: 'Formats offered for log exports' },
];

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(2);
}
const target = parseTarget(url);
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: target.connectionString }, { schema: target.schema }) });
try {
  // INSERT … ON CONFLICT DO NOTHING: new keys are added, existing ones untouched (no updated_at bump).
  const { count } = await prisma.setting.createMany({ data: DEFAULT_SETTINGS, skipDuplicates: true });
  console.log(`Seeded ${count} new setting${count === 1 ? '' : 's'} (${DEFAULT_SETTINGS.length - count} already present).`);
} finally {
  await prisma.$disconnect();
}
