// Types of bench/squawk.mjs for the test that runs the same comparison.
export interface SquawkRow {
  workload: string;
  files: number;
  statements: number;
  squawkFindings: number;
  oursFlagged: number;
  agreements: number;
  disagreements: number;
  classifyMs: number;
  squawkMs: number;
}
export interface Disagreement {
  workload: string;
  file: string;
  rule: string;
  statement: string;
  ours: 'safe' | 'care' | 'dangerous';
  why: string | undefined;
}
export const BLOCKING_RULES: string[];
export function compareWithSquawk(workloadsDir?: string): Promise<{ rows: SquawkRow[]; disagreements: Disagreement[] }>;
export function squawkLines(result: { rows: SquawkRow[]; disagreements: Disagreement[] }): string[];
export function printSquawkRows(result: { rows: SquawkRow[]; disagreements: Disagreement[] }): void;
