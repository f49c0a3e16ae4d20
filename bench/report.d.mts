// Types of bench/report.mjs, for its test.
import type { SquawkRow, Disagreement } from './squawk.d.mts';

export interface ApplyResult { id: string; label: string; goal: number | 'report'; ours: number; floor: number; ratio: number; nodeFloor: number; nodeFloorRatio: number; migrations?: number; dbmate?: number | null; dbmateRatio?: number | null; engine?: number; engineRatio?: number }
export interface StatusResult { id: string; label: string; ours: number; floor: number; ratio: number; goal: number }
export interface GrowthPoint { n: number; migrate: number; status: number; runs: number }
/** P6's bound: one boot's CPU seconds × 16 / cores (floor in ms), and the wall time's ratio to it. */
export interface CpuFloor { cpuSeconds: number; cores: number; floor: number; ratio: number; goal: number }
export interface ReportRow { id: string; label: string; ours: number; floor: number | null; ratio: number | null; goal: string; met?: boolean; unit?: string; cpuFloor?: CpuFloor }
export interface BenchmarkRun {
  date: string;
  machine: string;
  runs: number | string;
  apply?: ApplyResult[];
  status?: StatusResult;
  growth?: GrowthPoint[];
  api?: ReportRow[];
  dev?: ReportRow[];
  rollback?: RollbackResult;
  online?: OnlineResult;
}
export interface RollbackResult { history: string; migrations: number; diffMs: number; rollbackMs: number; ratio: number; met: boolean }
export interface OnlineRun { label: string; transactions: number; errors: number; p99Ms: number; maxMs: number; writeBlockedMs: number; migrationS: number; migrated: boolean }
export interface OnlineResult {
  baseline: OnlineRun;
  p7: OnlineRun[];
  p7b: OnlineRun[];
  sizes?: { rows: number; referencing: number; clients: number; seconds: number; holdS: number; lockTimeout: string };
}
export interface Markers { start: string; end: string }
export const BENCHMARKS_DOC: string;
export const SQUAWK_DOC: string;
export const BENCHMARKS_MARKERS: Markers;
export const SQUAWK_MARKERS: Markers;
export function renderBenchmarks(run: BenchmarkRun): string;
export function renderSquawk(result: { rows: SquawkRow[]; disagreements: Disagreement[] }, date: string): string;
export function replaceBetweenMarkers(doc: string, text: string, markers: Markers): string;
export function writeBetweenMarkers(file: string, text: string, markers: Markers): void;
