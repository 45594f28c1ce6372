import { ComponentRegistry, type ClaimSummary, type PodRecord, type WorkloadSummary } from '../../../src/components/component-registry.js';
import { claimSummary, podRecord, workloadSummary } from './summaries.js';
import { resolveComponent } from '../../../src/components/resolve-component.js';
import { componentKey } from '../../../src/components/component-key.js';
import { tenantDirectory, tenantNamespaceLabels } from '../tenancy/tenant-fixtures.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const OTHER = 'ffffffffffffffffffffffffffffffff';
const KEY = componentKey('acme-prod', SID);
const OTHER_KEY = componentKey('acme-prod', OTHER);
const ref = { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0a1b2c' };
const labels = (serviceId = SID): Record<string, string> => ({ creator: 'Wutong', service_id: serviceId, service_alias: 'gr0a1b2c', tenant_name: 'acme', tenant_env_name: 'prod' });

const workload = (over: Partial<WorkloadSummary> = {}): WorkloadSummary => workloadSummary({
  kind: 'StatefulSet',
  namespace: 'acme-prod',
  name: 'gr0a1b2c',
  uid: 'u-sts',
  labels: labels(),
  replicas: 1,
  template: { labels: { ...labels(), version: '2' }, containers: [{ name: 'db', image: 'mysql:8.0' }] },
  ...over,
});
const claim = (name = 'manual1-gr0a1b2c-0', over: Partial<ClaimSummary> = {}): ClaimSummary => claimSummary({
  kind: 'PersistentVolumeClaim',
  namespace: 'acme-prod',
  name,
  uid: `u-${name}`,
  labels: labels(),
  phase: 'Bound',
  finalizers: ['kubernetes.io/pvc-protection'],
  ...over,
});
const pod = (name = 'gr0a1b2c-0', phase = 'Running', over: Partial<PodRecord> = {}): PodRecord => podRecord({
  kind: 'Pod',
  namespace: 'acme-prod',
  name,
  uid: `u-${name}`,
  labels: labels(),
  phase,
  ready: phase === 'Running',
  ...over,
});

function running(): ComponentRegistry {
  const registry = new ComponentRegistry(tenantDirectory());
  registry.upsert(workload());
  registry.upsert(claim());
  registry.upsert(pod());
  return registry;
}

test('a running component: its workload, PVCs and running pods, state running, labels from the pod template', () => {
  const c = running().get(KEY);
  expect(c).toMatchObject({ key: KEY, serviceId: SID, namespace: 'acme-prod', ref, state: 'running', runningPods: ['gr0a1b2c-0'] });
  expect(c?.workload?.name).toBe('gr0a1b2c');
  expect(c?.claims.map((x) => x.name)).toEqual(['manual1-gr0a1b2c-0']);
  expect(c?.labels['version']).toBe('2');
});

test('a Wutong stop (workload and pods deleted, PVCs kept) leaves a stopped component; start makes it running again', () => {
  const registry = running();
  registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
  registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
  const stopped = registry.get(KEY);
  expect(stopped?.state).toBe('stopped');
  expect(stopped?.workload).toBeUndefined();
  expect(stopped?.ref).toEqual(ref);
  registry.upsert(workload());
  registry.upsert(pod('gr0a1b2c-0', 'Pending'));
  expect(registry.get(KEY)?.state).toBe('stopped');
  registry.upsert(pod('gr0a1b2c-0', 'Running'));
  expect(registry.get(KEY)?.state).toBe('running');
});

test('a pod being deleted is not running; PVCs being deleted make the component deleted; nothing left makes it undefined', () => {
  const registry = running();
  registry.upsert(pod('gr0a1b2c-0', 'Running', { deletionTimestamp: '2026-12-02T03:00:00Z' }));
  expect(registry.get(KEY)?.state).toBe('stopped');
  registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
  registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
  registry.upsert(claim('manual1-gr0a1b2c-0', { deletionTimestamp: '2026-12-02T03:00:01Z' }));
  expect(registry.get(KEY)?.state).toBe('deleted');
  registry.remove('PersistentVolumeClaim', 'acme-prod', 'manual1-gr0a1b2c-0');
  expect(registry.get(KEY)).toBeUndefined();
  expect(registry.keys()).toEqual([]);
  expect(registry.size).toBe(0);
});

test('listeners hear the component of every change, both when a label moves, and nothing for objects without a valid service_id', () => {
  const registry = new ComponentRegistry(tenantDirectory());
  const heard: string[] = [];
  const unsubscribe = registry.subscribe((id) => heard.push(id));
  registry.upsert(claim());
  registry.upsert(claim('manual1-gr0a1b2c-0', { labels: labels(OTHER) }));
  registry.upsert(pod('stray', 'Running', { labels: { creator: 'Wutong', service_id: 'not-hex' } }));
  registry.remove('Pod', 'acme-prod', 'absent');
  expect(heard).toEqual([KEY, KEY, OTHER_KEY]);
  expect(registry.get(KEY)).toBeUndefined();
  expect(registry.get(OTHER_KEY)?.state).toBe('stopped');
  unsubscribe();
  registry.remove('PersistentVolumeClaim', 'acme-prod', 'manual1-gr0a1b2c-0');
  expect(heard).toHaveLength(3);
});

test('objectsIn gives the API what its label-selected lists in the namespace gave: the same resolution', () => {
  const registry = running();
  const resolution = resolveComponent(ref, 'acme-prod', registry.objectsIn('acme-prod', ref.serviceAlias));
  expect(resolution).toEqual({
    found: true,
    component: {
      key: KEY,
      ref,
      serviceId: SID,
      namespace: 'acme-prod',
      workload: { kind: 'StatefulSet', name: 'gr0a1b2c' },
      volumeClaims: ['manual1-gr0a1b2c-0'],
      runningPods: ['gr0a1b2c-0'],
      pods: ['gr0a1b2c-0'],
    },
  });
  // Same alias, another service_id in the same namespace: ambiguous, as the live lists say.
  registry.upsert(claim('other-claim', { labels: labels(OTHER) }));
  expect(resolveComponent(ref, 'acme-prod', registry.objectsIn('acme-prod', ref.serviceAlias))).toMatchObject({ found: false, reason: 'ambiguous' });
  expect(resolveComponent({ ...ref, serviceAlias: 'nope' }, 'acme-prod', registry.objectsIn('acme-prod', 'nope'))).toMatchObject({ found: false, reason: 'not-found' });
});

// The tenant boundary (issue 17): a component is (namespace, service_id), and only tenant env namespaces hold components.

const TENANTS = { 'acme-prod': ['acme', 'prod'], 'mallory-dev': ['mallory', 'dev'] } as const;

test('the same service_id in two tenant namespaces is two components, each with its own claims and state: B\'s stopped forgery leaves A running', () => {
  const registry = new ComponentRegistry(tenantDirectory(TENANTS));
  registry.upsert(workload());
  registry.upsert(claim());
  registry.upsert(pod());
  // Tenant B, admin of mallory-dev only, labels a PVC there with A's service_id, alias and tenant labels.
  registry.upsert(claim('forged', { namespace: 'mallory-dev' }));
  const a = registry.get(KEY);
  const b = registry.get(componentKey('mallory-dev', SID));
  expect(a).toMatchObject({ key: KEY, namespace: 'acme-prod', state: 'running', runningPods: ['gr0a1b2c-0'] });
  expect(a?.claims.map((c) => `${c.namespace}/${c.name}`)).toEqual(['acme-prod/manual1-gr0a1b2c-0']);
  expect(b).toMatchObject({ key: 'mallory-dev/' + SID, namespace: 'mallory-dev', state: 'stopped', runningPods: [] });
  expect(b?.claims.map((c) => `${c.namespace}/${c.name}`)).toEqual(['mallory-dev/forged']);
  expect(new Set(registry.keys())).toEqual(new Set([KEY, componentKey('mallory-dev', SID)]));
  expect(registry.size).toBe(2);
  // A stops: B's forged claim does not keep A's state, and B's forged running pod does not make A run again.
  registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
  registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
  registry.upsert(pod('forged-0', 'Running', { namespace: 'mallory-dev' }));
  expect(registry.get(KEY)).toMatchObject({ state: 'stopped', runningPods: [], pods: [] });
  expect(registry.get(componentKey('mallory-dev', SID))?.state).toBe('running');
  registry.remove('PersistentVolumeClaim', 'acme-prod', 'manual1-gr0a1b2c-0');
  expect(registry.get(KEY)).toBeUndefined();
  expect(registry.get(componentKey('mallory-dev', SID))?.claims).toHaveLength(1);
});

test('objects in a namespace that is no tenant env make no component, whatever their labels say', () => {
  const registry = new ComponentRegistry(tenantDirectory());
  registry.upsert(workload({ namespace: 'kube-system' }));
  registry.upsert(claim('stray', { namespace: 'kube-system' }));
  registry.upsert(pod('stray-0', 'Running', { namespace: 'kube-system' }));
  expect(registry.get(componentKey('kube-system', SID))).toBeUndefined();
  expect(registry.keys()).toEqual([]);
  expect(registry.all()).toEqual([]);
  expect(registry.size).toBe(0);
  expect(registry.objectsIn('kube-system', ref.serviceAlias)).toEqual({ workloads: [], volumeClaims: [], pods: [] });
});

test('a namespace gaining (or losing) its tenant labels notifies each of its components, and makes (or unmakes) them', () => {
  const directory = tenantDirectory();
  const registry = new ComponentRegistry(directory);
  registry.upsert(claim('data-0', { namespace: 'newcomer' }));
  registry.upsert(claim('data-1', { namespace: 'newcomer', labels: labels(OTHER) }));
  registry.upsert(claim());
  const heard: string[] = [];
  registry.subscribe((key) => heard.push(key));
  expect(registry.get(componentKey('newcomer', SID))).toBeUndefined();

  directory.upsert({ name: 'newcomer', labels: tenantNamespaceLabels('beta', 'test') });
  expect(heard.sort()).toEqual([componentKey('newcomer', SID), componentKey('newcomer', OTHER)]);
  expect(registry.get(componentKey('newcomer', SID))).toMatchObject({ state: 'stopped', ref: { tenantName: 'beta', tenantEnvName: 'test', serviceAlias: 'gr0a1b2c' } });

  heard.length = 0;
  directory.remove('newcomer');
  expect(heard.sort()).toEqual([componentKey('newcomer', SID), componentKey('newcomer', OTHER)]);
  expect(registry.get(componentKey('newcomer', SID))).toBeUndefined();
  // acme-prod's component was never touched.
  expect(registry.get(KEY)?.state).toBe('stopped');
});

test('objectsIn never returns another namespace\'s objects, though they carry the same alias, tenant and env labels', () => {
  const registry = new ComponentRegistry(tenantDirectory(TENANTS));
  registry.upsert(claim());
  registry.upsert(workload({ namespace: 'mallory-dev', labels: labels(OTHER) }));
  registry.upsert(claim('forged', { namespace: 'mallory-dev', labels: labels(OTHER) }));
  registry.upsert(pod('forged-0', 'Running', { namespace: 'mallory-dev', labels: labels(OTHER) }));
  const objects = registry.objectsIn('acme-prod', ref.serviceAlias);
  expect([...objects.workloads, ...objects.volumeClaims, ...objects.pods].map((o) => o.metadata.namespace)).toEqual(['acme-prod']);
  // So the victim's component still resolves (B's labels do not make it ambiguous).
  expect(resolveComponent(ref, 'acme-prod', objects)).toMatchObject({ found: true, component: { key: KEY, namespace: 'acme-prod' } });
  const theirs = registry.objectsIn('mallory-dev', ref.serviceAlias);
  expect([...theirs.workloads, ...theirs.volumeClaims, ...theirs.pods].every((o) => o.metadata.namespace === 'mallory-dev')).toBe(true);
});

test('a component\'s tenant and env come from its namespace\'s labels, never from the labels on its objects', () => {
  const registry = new ComponentRegistry(tenantDirectory(TENANTS));
  const claiming = { ...labels(), tenant_name: 'acme', tenant_env_name: 'prod' };
  registry.upsert(claim('forged', { namespace: 'mallory-dev', labels: claiming }));
  expect(registry.get(componentKey('mallory-dev', SID))?.ref).toEqual({ tenantName: 'mallory', tenantEnvName: 'dev', serviceAlias: 'gr0a1b2c' });
  registry.upsert(claim('unlabelled', { labels: { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c' } }));
  expect(registry.get(KEY)?.ref).toEqual(ref);
});
