/**
 * deploy/k8s/*.yaml against the Kubernetes API schemas (kubernetes-models: ajv validators compiled
 * from the official OpenAPI definitions, offline), and the Pod Security "restricted" profile's
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

async function validate(doc: Yaml): Promise<void> {
  const Model = MODELS[`${doc.apiVersion} ${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
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
