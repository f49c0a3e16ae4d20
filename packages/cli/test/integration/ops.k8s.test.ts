/**
 * deploy/k8s/*.yaml against the Kubernetes API schemas, offline: kubernetes-models' ajv validators
 * (compiled from the official OpenAPI definitions: types, formats, required fields) and the strict
 * schemas of support/k8s-schema.ts (the same definitions with unknown fields refused, as the API
 * server refuses them), and the Pod Security "restricted" profile's
 * fields on every pod template (the Job's included). Also: the probes' split (liveness with no
 * database dependency), a re-runnable Job and a PodDisruptionBudget that selects the API's pods.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { strictManifestChecker } from '../support/k8s-schema.js';
import { REPO_ROOT } from '../support/migrations.js';

type Yaml = Record<string, any>;
const DIR = join(REPO_ROOT, 'deploy', 'k8s');
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const manifests = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))
    .map((d) => d.toJS() as Yaml | null)
    .filter((d): d is Yaml => d !== null)
    .map((doc) => ({ file, doc })),
);
const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

/** The schema per apiVersion + kind; a manifest of any other kind fails the test until it is added here. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'batch/v1 Job': Job,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 Service': Service,
};

/** The same kinds' type declarations in kubernetes-models, for the strict schemas. */
const strict = strictManifestChecker({
  'apps/v1 Deployment': { module: 'apps/v1/Deployment', type: 'IDeployment' },
  'batch/v1 Job': { module: 'batch/v1/Job', type: 'IJob' },
  'policy/v1 PodDisruptionBudget': { module: 'policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'v1 Service': { module: 'v1/Service', type: 'IService' },
});

/** Both checks; rejects with every error of the strict one, one per line. */
async function validate(doc: Yaml): Promise<void> {
  const Model = MODELS[`${doc.apiVersion} ${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
  const errors = strict(doc);
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

/** Every pod template with where it comes from. */
const podSpecs = () =>
  manifests.flatMap(({ file, doc }) => (doc.spec?.template?.spec ? [{ where: `${file} ${doc.kind}`, spec: doc.spec.template.spec as Yaml }] : []));

describe('deploy/k8s manifests', () => {
  it('every document validates against the Kubernetes schema of its apiVersion and kind', async () => {
    expect(files.sort()).toEqual(['deployment.yaml', 'migrate-job.yaml']);
    expect(manifests.map((m) => m.doc.kind).sort()).toEqual(['Deployment', 'Job', 'PodDisruptionBudget', 'Service']);
    for (const { file, doc } of manifests) await expect(validate(doc), `${file} ${doc.kind}`).resolves.toBeUndefined();
  });

  it('the validator is real: a wrong type and a missing required field are rejected', async () => {
    const [deployment] = ofKind('Deployment');
    const broken = structuredClone(deployment!);
    broken.spec.replicas = 'three';
    await expect(validate(broken)).rejects.toThrow(/replicas must be integer/);
    const noType = structuredClone(deployment!);
    delete noType.spec.template.spec.securityContext.seccompProfile.type;
    await expect(validate(noType)).rejects.toThrow(/seccompProfile must have required property '?type'?/);
  });

  it('unknown fields are rejected, as the API server rejects them: a misspelt field anywhere fails with its path', async () => {
    const [deployment] = ofKind('Deployment');
    const [job] = ofKind('Job');
    const [service] = ofKind('Service');
    const typo = structuredClone(deployment!);
    typo.spec.template.spec.securityContxt = typo.spec.template.spec.securityContext;
    delete typo.spec.template.spec.securityContext;
    await expect(validate(typo)).rejects.toThrow('/spec/template/spec: unknown field "securityContxt"');
    const container = structuredClone(job!);
    container.spec.template.spec.containers[0].imagePullPolcy = 'IfNotPresent';
    await expect(validate(container)).rejects.toThrow('/spec/template/spec/containers/0: unknown field "imagePullPolcy"');
    const meta = structuredClone(service!);
    meta.metadata.lables = { app: 'x' };
    meta.spec.ports[0].targetPrt = 3000;
    await expect(validate(meta)).rejects.toThrow('/metadata: unknown field "lables"\n/spec/ports/0: unknown field "targetPrt"');
    const top = structuredClone(job!);
    top.spc = top.spec;
    await expect(validate(top)).rejects.toThrow('/: unknown field "spc"');
    // kubernetes-models alone accepts all of these: the strict schemas are what catches them.
    for (const doc of [typo, container, meta, top]) expect(() => new MODELS[`${doc.apiVersion} ${doc.kind}`]!(doc).validate()).not.toThrow();
  });

  it('maps keep any key (labels, annotations), and a value outside an enum is rejected', async () => {
    const [deployment] = ofKind('Deployment');
    const labelled = structuredClone(deployment!);
    labelled.metadata.labels = { ...labelled.metadata.labels, 'example.com/any-key': 'v' };
    labelled.metadata.annotations = { 'prometheus.io/scrape': 'true' };
    await expect(validate(labelled)).resolves.toBeUndefined();
    const policy = structuredClone(deployment!);
    policy.spec.template.spec.restartPolicy = 'Sometimes';
    // Both checks refuse it; the strict one with its own words.
    await expect(validate(policy)).rejects.toThrow(/restartPolicy/);
    expect(strict(policy)).toEqual(['/spec/template/spec/restartPolicy: must be equal to one of the allowed values']);
  });

  it('Pod Security "restricted" on every pod template: non-root, RuntimeDefault seccomp, no capabilities, no escalation, read-only root with an emptyDir /tmp', () => {
    const specs = podSpecs();
    expect(specs.map((s) => s.where)).toEqual(['deployment.yaml Deployment', 'migrate-job.yaml Job']);
    for (const { where, spec } of specs) {
      expect(spec.securityContext.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext.runAsUser, where).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile, where).toEqual({ type: 'RuntimeDefault' });
      expect(spec.automountServiceAccountToken, where).toBe(false);
      expect(spec.hostNetwork ?? false, where).toBe(false);
      expect(spec.hostPID ?? false, where).toBe(false);
      const volumes = Object.fromEntries((spec.volumes ?? []).map((v: Yaml) => [v.name, v]));
      for (const volume of Object.values(volumes) as Yaml[]) expect(Object.keys(volume).sort(), `${where}: volume ${volume.name}`).toEqual(['emptyDir', 'name']);
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const at = `${where}: ${container.name}`;
        const sc = container.securityContext;
        expect(sc.allowPrivilegeEscalation, at).toBe(false);
        expect(sc.privileged ?? false, at).toBe(false);
        expect(sc.readOnlyRootFilesystem, at).toBe(true);
        expect(sc.runAsNonRoot, at).toBe(true);
        expect(sc.capabilities, at).toEqual({ drop: ['ALL'] });
        expect(sc.seccompProfile, at).toEqual({ type: 'RuntimeDefault' });
        // The only writable path is /tmp, on an emptyDir of the pod.
        expect(container.volumeMounts, at).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
        expect(volumes.tmp?.emptyDir, at).toBeDefined();
      }
    }
  });

  it('probes: liveness and startup on /api/v1/health/live (no database), readiness on /api/v1/health/db', () => {
    const [deployment] = ofKind('Deployment');
    const api = deployment!.spec.template.spec.containers[0];
    expect(api.livenessProbe.httpGet.path).toBe('/api/v1/health/live');
    expect(api.startupProbe.httpGet.path).toBe('/api/v1/health/live');
    expect(api.readinessProbe.httpGet.path).toBe('/api/v1/health/db');
  });

  it('the Job is re-runnable (generateName, created per run) and a PodDisruptionBudget covers the API pods', () => {
    const [job] = ofKind('Job');
    expect(job!.metadata.name).toBeUndefined();
    expect(job!.metadata.generateName).toBe('digilog-migrate-');
    expect(readFileSync(join(DIR, 'migrate-job.yaml'), 'utf8')).toMatch(/kubectl create -f deploy\/k8s\/migrate-job\.yaml -o name/);
    const [deployment] = ofKind('Deployment');
    const [pdb] = ofKind('PodDisruptionBudget');
    expect(pdb!.spec.selector.matchLabels).toEqual(deployment!.spec.selector.matchLabels);
    expect(pdb!.spec.maxUnavailable).toBeLessThan(deployment!.spec.replicas);
  });
});
