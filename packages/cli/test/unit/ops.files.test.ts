/**
 * The operations files an operator deploys from, read with real parsers (dockerfile-ast for the
 * Dockerfile, yaml for compose, CI and Kubernetes): the properties the README promises.
 * No Docker engine runs here; ops.image.e2e.test.ts runs the runtime stage's layout for real.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/migrations.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
type Yaml = Record<string, any>;

/** Instructions grouped by build stage (FROM … AS name). */
function stages(): Array<{ name: string; from: string; instructions: Instruction[] }> {
  const dockerfile = DockerfileParser.parse(read('Dockerfile'));
  const result: Array<{ name: string; from: string; instructions: Instruction[] }> = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      result.push({ name: args[2] ?? `stage${result.length}`, from: args[0]!, instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}
const args = (i: Instruction) => i.getArgumentsContent() ?? '';
const ofKind = (stage: { instructions: Instruction[] }, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);

describe('Dockerfile', () => {
  const all = stages();
  const byName = Object.fromEntries(all.map((s) => [s.name, s]));
  const runtime = all.at(-1)!;

  it('has the stages deps → build → cli → runtime, in that order; runtime last (the default target)', () => {
    expect(all.map((s) => s.name)).toEqual(['base', 'deps', 'build', 'cli', 'runtime']);
    expect(byName.deps!.from).toBe('base');
    expect(byName.build!.from).toBe('deps');
    // The runtime and cli images start from a clean Node image, not from a stage holding the toolchain.
    expect(runtime.from).toBe('${NODE_IMAGE}');
    expect(byName.cli!.from).toBe('${NODE_IMAGE}');
    // Node 22 LTS in the image.
    expect(read('Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:22-[a-z]+-slim$/m);
  });

  it('--target cli: digilog-db deployed alone with production dependencies, on PATH, the migrations, non-root, tini', () => {
    const cli = byName.cli!;
    expect(ofKind(byName.build!, 'RUN').map(args).join('\n')).toMatch(/pnpm --filter @digilog\/db deploy --prod\b.* \/out-cli/);
    const copies = ofKind(cli, 'COPY');
    expect(copies.filter((c) => (c as Copy).getFromFlag() !== null).map((c) => [(c as Copy).getFromFlag()!.getValue(), args(c)])).toEqual([['build', '/out-cli /opt/digilog-db']]);
    expect(copies.map(args)).toContain('prisma ./prisma');
    const runs = ofKind(cli, 'RUN').map(args).join('\n');
    expect(runs).toMatch(/ln -s \/opt\/digilog-db\/bin\/digilog-db\.js \/usr\/local\/bin\/digilog-db/);
    expect(runs).not.toMatch(/pnpm|npm install/);
    expect(ofKind(cli, 'USER').map(args)).toEqual(['node']);
    expect(ofKind(cli, 'WORKDIR').map(args)).toEqual(['/app']);
    expect(ofKind(cli, 'ENV').map(args).join(' ')).toMatch(/NODE_ENV=production/);
    expect(ofKind(cli, 'ENTRYPOINT').map(args)).toEqual(['["/usr/bin/tini", "--"]']);
    // Same arguments as the runtime image's entry script takes: a Job's `args: [digilog-db, migrate]` fits both.
    expect(ofKind(cli, 'CMD').map(args)).toEqual(['["digilog-db", "status"]']);
  });

  it('installs dependencies from the manifests and the frozen lockfile before copying any source (cache-friendly)', () => {
    const deps = byName.deps!;
    const copies = ofKind(deps, 'COPY').map(args);
    expect(copies.join(' ')).toContain('pnpm-lock.yaml');
    expect(copies.join(' ')).not.toMatch(/\bpackages\s+\.\/packages|src\b/);
    // Manifests, and the CLI's bin launcher (pnpm links `digilog-db` only if the file exists at install time).
    for (const copied of copies.flatMap((c) => c.split(/\s+/).slice(0, -1))) expect(copied).toMatch(/package\.json|pnpm-lock\.yaml|pnpm-workspace\.yaml|^packages\/cli\/bin$/);
    expect(copies).toContain('packages/cli/bin packages/cli/bin');
    expect(ofKind(deps, 'RUN').map(args).join('\n')).toMatch(/pnpm install --frozen-lockfile/);
  });

  it('compiles TypeScript, generates Prisma Client with digilog-db and deploys production dependencies only', () => {
    const runs = ofKind(byName.build!, 'RUN').map(args).join('\n');
    expect(runs).toMatch(/pnpm --filter @digilog\/db run build/);
    expect(runs).toMatch(/digilog-db generate/);
    expect(runs).toMatch(/pnpm --filter @digilog\/api run build/);
    expect(runs).toMatch(/pnpm --filter @digilog\/api deploy --prod\b.* \/out/);
    // No engine download: digilog-db needs no PRISMA_*_BINARY and never runs `prisma generate`.
    expect(read('Dockerfile')).not.toMatch(/prisma generate|BINARY_TARGET|ENGINE_BINARY/);
  });

  it('runtime: only the production deploy, the migrations and the entry scripts; non-root; NODE_ENV=production; tini; HEALTHCHECK', () => {
    const copies = ofKind(runtime, 'COPY');
    const fromBuild = copies.filter((c) => (c as Copy).getFromFlag()?.getValue() === 'build');
    expect(fromBuild.map(args)).toEqual(['/out ./']);
    // Nothing else comes from a stage that holds devDependencies (build's /repo, deps' node_modules).
    expect(copies.filter((c) => (c as Copy).getFromFlag() !== null)).toHaveLength(1);
    expect(copies.map(args)).toContain('prisma ./prisma');
    expect(copies.map(args).join('\n')).toMatch(/deploy\/entrypoint\.sh/);
    expect(ofKind(runtime, 'RUN').map(args).join('\n')).not.toMatch(/pnpm|npm install|yarn/);

    const users = ofKind(runtime, 'USER').map(args);
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    const env = ofKind(runtime, 'ENV').map(args).join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/LOG_FORMAT=json/);

    const healthchecks = ofKind(runtime, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(args(healthchecks[0]!)).toMatch(/CMD \["node", "\/app\/deploy\/healthcheck\.mjs"\]/);
    const entrypoint = ofKind(runtime, 'ENTRYPOINT').map(args);
    expect(entrypoint).toEqual(['["/usr/bin/tini", "--", "/app/deploy/entrypoint.sh"]']);
    expect(ofKind(runtime, 'RUN').map(args).join('\n')).toMatch(/apt-get install .*\btini\b/);
  });

  it('the scripts it runs exist, are executable, and the build context excludes host builds and secrets', () => {
    expect(statSync(join(REPO_ROOT, 'deploy/entrypoint.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(REPO_ROOT, 'deploy/healthcheck.mjs'))).toBe(true);
    execFileSync('sh', ['-n', join(REPO_ROOT, 'deploy/entrypoint.sh')]);
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.env', '.env.*', '.git']) expect(ignored).toContain(entry);
  });
});

describe('docker-compose.prod.yml', () => {
  const compose = parse(read('docker-compose.prod.yml')) as Yaml;
  const { postgres, app } = compose.services;

  it('postgres: pg_isready healthcheck and a named volume for its data', () => {
    expect(postgres.image).toMatch(/^postgres:15/);
    expect(postgres.healthcheck.test.join(' ')).toMatch(/pg_isready/);
    const [volume, target] = String(postgres.volumes[0]).split(':');
    expect(target).toBe('/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toContain(volume);
    // Not reachable from outside the compose network.
    expect(postgres.ports).toBeUndefined();
  });

  it('app: built from the Dockerfile, starts after postgres is healthy, migrates in production, has its own healthcheck', () => {
    expect(app.build.dockerfile).toBe('Dockerfile');
    expect(app.depends_on.postgres.condition).toBe('service_healthy');
    expect(app.environment.NODE_ENV).toBe('production');
    expect(app.environment.AUTO_MIGRATE).toBe('true');
    expect(app.healthcheck.test).toEqual(['CMD', 'node', '/app/deploy/healthcheck.mjs', '/api/v1/health']);
  });

  it('app: container digilog-app-prod, published on 127.0.0.1 unless DIGILOG_BIND_ADDRESS says otherwise; docs use that name', () => {
    expect(app.container_name).toBe('digilog-app-prod');
    expect(app.ports).toEqual(['${DIGILOG_BIND_ADDRESS:-127.0.0.1}:${DIGILOG_HOST_PORT:-3000}:3000']);
    const operations = read('docs/operations.md');
    expect(operations).toContain('docker logs digilog-app-prod');
    expect(operations).toContain('docker exec -it digilog-app-prod digilog-db status');
    expect(operations).toMatch(/DIGILOG_BIND_ADDRESS/);
    // The image puts digilog-db on PATH (ops.image.e2e runs it that way) and starts in /app, where prisma/ is.
    const runtimeStage = read('Dockerfile').split(/^FROM /m).at(-1)!;
    expect(runtimeStage).toMatch(/PATH=\/app\/node_modules\/\.bin:\$PATH/);
    expect(runtimeStage).toMatch(/^WORKDIR \/app$/m);
  });

  it('each service reads only its own secret from a git-ignored file; the committed examples hold placeholders only', () => {
    const { migrate } = compose.services;
    expect({ postgres: postgres.env_file, migrate: migrate.env_file, app: app.env_file }).toEqual({ postgres: '.env.production', migrate: '.env.migrate', app: '.env.app' });
    expect(JSON.stringify(compose)).not.toMatch(/PASSWORD\W+[^$C{]/);
    const examples = { '.env.production': ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'], '.env.migrate': ['DIRECT_URL'], '.env.app': ['DATABASE_URL', 'PGBOUNCER_UPSTREAM_URL'] };
    for (const [file, names] of Object.entries(examples)) {
      const example = read(`${file}.example`);
      const set = [...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
      expect({ file, set }).toEqual({ file, set: names });
      expect(example).not.toMatch(/:\/\/[^:]+:(?!CHANGE_ME@)[^@]*@/);
      // git check-ignore exits 0 when the path is ignored, 1 when it is not.
      expect(() => execFileSync('git', ['check-ignore', '-q', file], { cwd: REPO_ROOT })).not.toThrow();
      expect(() => execFileSync('git', ['check-ignore', '-q', `${file}.example`], { cwd: REPO_ROOT })).toThrow();
    }
    expect(read('.env.production.example')).toMatch(/^POSTGRES_PASSWORD=CHANGE_ME$/m);
  });

  it('migrate: a one-shot service as the migration role before the app, which has no DDL rights', () => {
    const { migrate } = compose.services;
    expect(migrate.command).toEqual(['digilog-db', 'migrate']);
    expect(migrate.image).toBe(app.image);
    expect(migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(app.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(read('.env.migrate.example')).toMatch(/^DIRECT_URL=postgresql:\/\/digilog_migrator:CHANGE_ME@postgres:5432\/digilog$/m);
    expect(read('.env.app.example')).toMatch(/^DATABASE_URL=postgresql:\/\/digilog_app:CHANGE_ME@pgbouncer:5432\/digilog$/m);
    expect(read('docs/operations.md')).toContain('digilog-db roles --apply');
  });

  it('docker-compose.yml (development) is a PostgreSQL 15 with a healthcheck', () => {
    const dev = parse(read('docker-compose.yml')) as Yaml;
    expect(dev.services.postgres.image).toMatch(/^postgres:15/);
    expect(dev.services.postgres.healthcheck.test.join(' ')).toMatch(/pg_isready/);
  });
});

describe('.github/workflows/ci.yml', () => {
  const workflow = parse(read('.github/workflows/ci.yml')) as Yaml;
  // The repository's own action (`uses: ./`): its steps, by name and script (ci-action.test.ts runs them).
  const action = parse(read('action.yml')) as Yaml;
  const actionSteps = action.runs.steps.map((s: Yaml) => `${s.name}\n${s.run ?? ''}`).join('\n');
  const runs = (job: string): string[] => workflow.jobs[job].steps.map((s: Yaml) => (s.uses === './' ? actionSteps : (s.run ?? '')));

  it('runs the tests against a PostgreSQL service container', () => {
    const service = workflow.jobs.test.services.postgres;
    expect(service.image).toMatch(/^postgres:15/);
    expect(service.options).toMatch(/--health-cmd "pg_isready/);
    expect(workflow.jobs.test.env.TEST_DATABASE_URL).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:5432\//);
    expect(runs('test')).toContain('pnpm install --frozen-lockfile');
    expect(runs('test')).toContain('pnpm test');
  });

  it('gates on lint, migrate, status and diff --exit-code before the tests', () => {
    const steps = runs('test');
    const at = (command: string) => steps.findIndex((s) => s.includes(command));
    for (const command of ['digilog-db lint', 'digilog-db migrate', 'digilog-db status', 'digilog-db diff --exit-code']) expect(at(command)).toBeGreaterThan(0);
    expect(at('digilog-db migrate')).toBeLessThan(at('digilog-db status'));
    expect(at('digilog-db status')).toBeLessThan(at('pnpm test'));
  });

  it('on main: image, then migrate, then rollout (ops.workflow.test.ts checks the details)', () => {
    expect(workflow.jobs.image.needs).toBe('test');
    expect(workflow.jobs.migrate.needs).toBe('image');
    expect(workflow.jobs.rollout.needs).toBe('migrate');
    expect(runs('migrate').join('\n')).toMatch(/digilog-db migrate/);
  });

  it('.ci/run stays the local entry and runs the same pnpm test', () => {
    expect(read('.ci/run')).toMatch(/^pnpm test$/m);
  });

  it('.ci/run also runs every test file but the long fault-injection scenarios on Node 22 LTS; its last line is both runs together, a missing run one failure', () => {
    const run = read('.ci/run');
    expect(run).toMatch(/^NODE22_VERSION=22\.\d+\.\d+$/m);
    // Every name NODE22_SKIP leaves out is a test file (a renamed scenario would otherwise join silently), and the
    // fast files of each layer stay in: parsing, the engine on PostgreSQL, the API end to end, TLS.
    const skip = /^NODE22_SKIP=\((.*)\)$/m.exec(run)![1]!.split(' ');
    const files = ['cli', 'api'].flatMap((pkg) => ['unit', 'integration', 'e2e', 'faults'].filter((layer) => existsSync(join(REPO_ROOT, 'packages', pkg, 'test', layer))).flatMap((layer) => readdirSync(join(REPO_ROOT, 'packages', pkg, 'test', layer)).filter((f) => f.endsWith('.test.ts')).map((f) => f.slice(0, -'.test.ts'.length))));
    for (const name of skip) expect(files, name).toContain(name);
    for (const name of ['core', 'cli-options', 'migrate', 'api.e2e', 'tls.e2e', 'access-log.e2e', 'ops.k8s']) expect(skip).not.toContain(name);
    expect(files.length - skip.length).toBeGreaterThan(2 * skip.length);
    expect(run).toMatch(/^for file in packages\/\*\/test\/\*\/\*\.test\.ts; do$/m);
    expect(run.trimEnd().split('\n').slice(-2)).toEqual(['node .ci/summary.mjs test-results.json "$node22_report"', 'exit $status']);
    expect(run).toMatch(/^\[ "\$status" -eq 0 \] && \[ "\$node22_status" -ne 0 \] && status=\$node22_status$/m);
    const dir = mkdtempSync(join(tmpdir(), 'digilog-summary-'));
    const report = (name: string, passed: number, failed: number, skipped: number) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numRuntimeErrors: 0, testResults: [] }));
      return file;
    };
    const summary = (...args: string[]) => execFileSync(process.execPath, [join(REPO_ROOT, '.ci', 'summary.mjs'), ...args], { encoding: 'utf8' }).trimEnd().split('\n');
    const node20 = report('a.json', 500, 0, 2);
    const node22 = report('b.json', 80, 1, 0);
    expect(summary('--label', 'node22', node22)).toEqual(['node22: 80 passed, 1 failed']);
    expect(summary(node20, node22)).toEqual(['580 passed, 1 failed, 2 skipped']);
    expect(summary(node20, join(dir, 'missing.json'))).toEqual(['500 passed, 1 failed, 2 skipped']);
  });
});

describe('deploy/k8s', () => {
  const docs = ['migrate-job.yaml', 'deployment.yaml'].flatMap((file) => parseAllDocuments(read(`deploy/k8s/${file}`)).map((d) => d.toJS() as Yaml));
  const ofKindK8s = (kind: string) => docs.filter((d) => d.kind === kind);

  it('pattern 1: a Job that runs digilog-db migrate once, never retried blindly', () => {
    const [job] = ofKindK8s('Job');
    const container = job!.spec.template.spec.containers[0];
    expect(container.args.slice(0, 2)).toEqual(['digilog-db', 'migrate']);
    expect(job!.spec.backoffLimit).toBe(0);
    expect(job!.spec.template.spec.restartPolicy).toBe('Never');
    expect(container.env).toContainEqual({ name: 'NODE_ENV', value: 'production' });
  });

  it('pattern 2 and probes: readiness on /api/v1/health/db, liveness on /api/v1/health/live, non-root', () => {
    const [deployment] = ofKindK8s('Deployment');
    const spec = deployment!.spec.template.spec;
    const api = spec.containers[0];
    expect(api.readinessProbe.httpGet.path).toBe('/api/v1/health/db');
    expect(api.livenessProbe.httpGet.path).toBe('/api/v1/health/live');
    expect(api.startupProbe.httpGet.path).toBe('/api/v1/health/live');
    expect(api.env).toContainEqual({ name: 'NODE_ENV', value: 'production' });
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    const [service] = ofKindK8s('Service');
    expect(service!.spec.selector).toEqual(deployment!.spec.selector.matchLabels);
    expect(read('deploy/kubernetes.md')).toMatch(/ensureMigrated\(\)/);
    expect(read('README.md')).toMatch(/\(deploy\/kubernetes\.md\)/);
  });
});
