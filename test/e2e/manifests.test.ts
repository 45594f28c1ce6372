import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { installCrds, kubectl120Binary } from './cluster/cluster.js';
import { clusterInfo } from './support/kube.js';
import { findObject, KUBERNETES_120, KUSTOMIZERS, MANIFEST_TARGETS, objectKey, render, run, type KubeObject, type Kustomizer, type ManifestTarget } from './support/kustomize.js';
import { installShipped, SHIPPED, SHIPPED_ROLES } from './support/shipped-install.js';

jest.setTimeout(300_000);

const CERT_MANAGER_CRDS = fileURLToPath(new URL('./fixtures/cert-manager', import.meta.url));
const kustomizers = Object.keys(KUSTOMIZERS) as Kustomizer[];

/** Lists of named items (env, containers, volumes…) compare by name: the two kustomize versions merge patches in different orders. */
function normalised(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalised);
    const named = items.every((i) => typeof i === 'object' && i !== null && typeof (i as { name?: unknown }).name === 'string');
    return named ? [...items].sort((a, b) => String((a as { name: string }).name).localeCompare(String((b as { name: string }).name))) : items;
  }
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  return value;
}

/** Server-side dry run with kubectl 1.20's schema validation against the test API server's OpenAPI. */
function dryRunApply(yaml: string, kubectl = kubectl120Binary(), validate = '--validate=true'): Promise<unknown> {
  return run(kubectl, ['--kubeconfig', clusterInfo().kubeconfigPath, 'apply', '--dry-run=server', validate, '-f', '-'], yaml);
}

beforeAll(async () => {
  await installCrds(clusterInfo(), CERT_MANAGER_CRDS);
});

describe.each(MANIFEST_TARGETS.map((t) => [t]))('%s', (target: ManifestTarget) => {
  test('renders with kubectl 1.20’s kustomize and with kustomize v5, to the same objects', async () => {
    const [old, current] = await Promise.all(kustomizers.map((k) => render(target, k)));
    expect(old!.stderr.trim()).toBe('');
    const byKey = (objects: KubeObject[]): Map<string, unknown> => new Map(objects.map((o) => [objectKey(o), normalised(o)]));
    const a = byKey(old!.objects);
    const b = byKey(current!.objects);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    const different = [...a.keys()].filter((k) => !isDeepStrictEqual(a.get(k), b.get(k)));
    expect(different).toEqual([]);
  });

  test('is applied for real, every field known to the API server’s schema (kubectl --validate, then the API server itself)', async () => {
    const install = await installShipped(target);
    try {
      const kinds = install.objects.map(objectKey);
      expect(kinds).toEqual(expect.arrayContaining([`MutatingWebhookConfiguration//${SHIPPED.webhookConfiguration}`, ...SHIPPED_ROLES.map((role) => `Deployment/${SHIPPED.namespace}/${SHIPPED.deployment(role)}`)]));
    } finally {
      await install.uninstall();
    }
  });
});

test('the validation the manifests pass does reject an unknown field, in a built-in kind and in the Certificate', async () => {
  const { objects } = await render('overlays/cert-manager');
  const deployment = structuredClone(findObject(objects, 'Deployment', SHIPPED.deployment('webhook'))) as KubeObject & { spec: Record<string, unknown> };
  deployment.spec.replica = 3; // misspelled
  const certificate = structuredClone(findObject(objects, 'Certificate', 'wutong-backup')) as KubeObject & { spec: Record<string, unknown> };
  certificate.spec.dnsName = ['x']; // misspelled
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'manifests-validation' } };
  for (const broken of [deployment, certificate]) {
    const yaml = [namespace, { ...broken, metadata: { ...broken.metadata, namespace: 'default' } }].map((o) => stringify(o)).join('---\n');
    await expect(dryRunApply(yaml)).rejects.toThrow(/unknown field "(replica|dnsName)"/);
  }
});

test('overlays/kubernetes-1.20 is the base with the PodDisruptionBudget served as policy/v1beta1, and nothing else changed', async () => {
  const base = (await render('base')).objects;
  const old = (await render(KUBERNETES_120)).objects;
  expect(old.map(objectKey)).toEqual(base.map(objectKey));
  for (const [i, o] of old.entries()) {
    const expected = o.kind === 'PodDisruptionBudget' ? { ...base[i], apiVersion: 'policy/v1beta1' } : base[i];
    expect(o).toEqual(expected);
  }
});

test.each(SHIPPED_ROLES)('the rendered %s Deployment is what the README promises: its own ServiceAccount and role, non-root, probes, a PodDisruptionBudget', async (role) => {
  const { objects } = await render('base');
  const deployment = findObject(objects, 'Deployment', SHIPPED.deployment(role)) as unknown as {
    spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
  };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  expect(pod.containers).toHaveLength(1);
  expect(container.name).toBe(role);
  expect(container.env).toEqual(expect.arrayContaining([{ name: 'ROLE', value: role }]));
  expect(pod.serviceAccountName).toBe(SHIPPED.serviceAccount(role));
  expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'wutong-backup', 'app.kubernetes.io/component': role });
  expect(deployment.spec.replicas).toBe(2);
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '160Mi' }, limits: { memory: '384Mi' } });
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);
  expect(pod.topologySpreadConstraints).toEqual([expect.objectContaining({ topologyKey: 'kubernetes.io/hostname' })]);
  expect(container).toHaveProperty('readinessProbe');
  expect(container).toHaveProperty('livenessProbe');
  expect(findObject(objects, 'PodDisruptionBudget', SHIPPED.deployment(role))).toMatchObject({ apiVersion: 'policy/v1', spec: { minAvailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } } });
});

test('each Service selects only its role: the webhook Service the webhook pods, the API Service the api pods; metrics every pod', async () => {
  const { objects } = await render('base');
  const selector = (name: string): unknown => (findObject(objects, 'Service', name) as unknown as { spec: { selector: unknown } }).spec.selector;
  expect(selector('wutong-backup')).toEqual({ 'app.kubernetes.io/name': 'wutong-backup', 'app.kubernetes.io/component': 'webhook' });
  expect(selector('wutong-backup-api')).toEqual({ 'app.kubernetes.io/name': 'wutong-backup', 'app.kubernetes.io/component': 'api' });
  expect(selector('wutong-backup-metrics')).toEqual({ 'app.kubernetes.io/name': 'wutong-backup' });
});

test('fail-closed: three webhook replicas, and only pod admission fails closed', async () => {
  const failClosed = (await render('overlays/fail-closed')).objects;
  expect(findObject(failClosed, 'Deployment', SHIPPED.deployment('webhook'))).toMatchObject({ spec: { replicas: 3 } });
  // Fail closes pod admission only: the upgrade hold's entry stays Ignore, so a webhook outage never blocks Wutong's upgrades.
  expect(findObject(failClosed, 'MutatingWebhookConfiguration', SHIPPED.webhookConfiguration)).toMatchObject({
    webhooks: [
      { name: 'pods.backup.wutong.io', failurePolicy: 'Fail' },
      { name: 'workloads.backup.wutong.io', failurePolicy: 'Ignore', rules: [{ operations: ['UPDATE'], apiGroups: ['apps'], resources: ['statefulsets', 'deployments'] }] },
    ],
  });
});
