/** Starts each run with no reliability evidence from an earlier run. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  rmSync(join(import.meta.dirname, 'reliability-results.jsonl'), { force: true });
}
