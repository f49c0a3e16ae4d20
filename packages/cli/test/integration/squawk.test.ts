/**
 * Agreement with squawk, a peer linter, over every migration of the shared
 * real-world histories (bench/squawk.mjs prints the same comparison as a
 * table): whatever squawk flags as blocking or breaking, we classify as
 * Requires care or Dangerous, or our classifier can say why it is harmless.
 */
import { describe, expect, it } from 'vitest';
import { compareWithSquawk } from '../../../../bench/squawk.mjs';
import { workloadsDir } from '../support/migrations.js';

describe('classifier vs squawk on ../shared/workloads', () => {
  it('every statement squawk flags with a blocking rule is Requires care / Dangerous for us, or explained', async (context) => {
    const { rows, disagreements } = await compareWithSquawk(workloadsDir(context));
    expect(rows.map((r) => r.workload)).toEqual(['documenso-documenso', 'hoppscotch-hoppscotch', 'mfts-papermark']);
    // squawk really found things in each history, and we really compared statements.
    for (const row of rows) {
      expect(row.squawkFindings).toBeGreaterThan(50);
      expect(row.agreements + row.disagreements).toBe(row.squawkFindings);
      expect(row.agreements).toBeGreaterThan(0);
    }
    expect(disagreements.filter((d) => d.why === undefined)).toEqual([]);
    // A disagreement may only be a "safe" for a proven reason, never a silent miss.
    expect(new Set(disagreements.map((d) => d.ours))).toEqual(new Set(['safe']));
  });
});
