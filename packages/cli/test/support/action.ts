/**
 * Runs the composite action's steps (action.yml) locally, as the runner would: each `run`
 * script with bash, in its working directory, with its `env` after `${{ … }}` expressions are
 * evaluated from the inputs (defaults from action.yml), runner.temp and earlier steps' outputs.
 * Only the expression forms action.yml uses are understood; any other one fails the test.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './migrations.js';

type Yaml = Record<string, any>;

export const ACTION = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as Yaml;

export interface StepRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** One local run of the action: inputs, a temp dir for runner.temp and the step files, outputs by step id. */
export class LocalAction {
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, Record<string, string>> = {};
  readonly summary: string;

  constructor(
    overrides: Record<string, string>,
    private readonly temp: string,
    private readonly cwd: string,
  ) {
    const defaults = Object.fromEntries(Object.entries(ACTION.inputs as Record<string, { default?: string }>).map(([name, input]) => [name, String(input.default ?? '')]));
    for (const name of Object.keys(overrides)) if (!(name in defaults)) throw new Error(`action.yml has no input ${name}`);
    this.inputs = { ...defaults, ...overrides };
    this.summary = join(temp, 'step-summary.md');
    writeFileSync(this.summary, '');
  }

  /** The value of `${{ … }}` expressions in `text`. */
  evaluate(text: string): string {
    return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
      let m: RegExpExecArray | null;
      if ((m = /^inputs\.([\w-]+)$/.exec(expression))) return this.inputs[m[1]!] ?? '';
      if (expression === 'runner.temp') return this.temp;
      if ((m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expression))) return this.outputs[m[1]!]?.[m[2]!] ?? '';
      throw new Error(`expression not understood by the local runner: ${expression}`);
    });
  }

  /** Runs the step with this id (or name) and records its outputs. */
  run(idOrName: string, extraEnv: Record<string, string> = {}): StepRun {
    const step = (ACTION.runs.steps as Yaml[]).find((s) => s.id === idOrName || s.name === idOrName);
    if (!step?.run) throw new Error(`no run step ${idOrName} in action.yml`);
    const output = join(this.temp, `output-${step.id ?? 'step'}`);
    writeFileSync(output, '');
    const env = Object.fromEntries(Object.entries((step.env ?? {}) as Record<string, string>).map(([k, v]) => [k, this.evaluate(String(v))]));
    const result = spawnSync('bash', ['-e', '-c', step.run as string], {
      cwd: resolve(this.cwd, this.evaluate(String(step['working-directory'] ?? '.'))),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: this.summary, ...env, ...extraEnv },
      encoding: 'utf8',
    });
    const outputs = Object.fromEntries(readFileSync(output, 'utf8').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    if (step.id) this.outputs[step.id as string] = outputs;
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, outputs };
  }
}
