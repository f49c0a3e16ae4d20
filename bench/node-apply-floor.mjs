// The least any Node.js migration runner does: start Node, load node-postgres, open one
// connection, and send each migration file in its own transaction, as the psql floor does
// (no history table, no lock, no checks). P1/P2 print it beside the psql floor, so the ratio
// shows how much of the gap is the cost of being a Node process at all.
// Usage: node bench/node-apply-floor.mjs <migrations dir>   (DATABASE_URL set)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, migrationFolders } from './lib.mjs';

const pg = createRequire(join(ROOT, 'packages/cli/package.json'))('pg');
const dir = process.argv[2];
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
for (const name of migrationFolders(dir)) {
  await client.query(`BEGIN;\n${readFileSync(join(dir, name, 'migration.sql'), 'utf8')}\n;COMMIT;`);
}
await client.end();
