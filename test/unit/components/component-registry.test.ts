import { ComponentRegistry, type ClaimSummary, type PodRecord, type WorkloadSummary } from '../../../src/components/component-registry.js';
import { claimSummary, podRecord, workloadSummary } from './summaries.js';
import { resolveComponent } from '../../../src/components/resolve-component.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const OTHER = 'ffffffffffffffffffffffffffffffff';
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
  const registry = new ComponentRegistry();
  registry.upsert(workload());
  registry.upsert(claim());
  registry.upsert(pod());
  return registry;
}

test('a running component: its workload, PVCs and running pods, state running, labels from the pod template', () => {
  const c = running().get(SID);
  expect(c).toMatchObject({ serviceId: SID, namespace: 'acme-prod', ref, state: 'running', runningPods: ['gr0a1b2c-0'] });
  expect(c?.workload?.name).toBe('gr0a1b2c');
  expect(c?.claims.map((x) => x.name)).toEqual(['manual1-gr0a1b2c-0']);
  expect(c?.labels['version']).toBe('2');
});

test('a Wutong stop (workload and pods deleted, PVCs kept) leaves a stopped component; start makes it running again', () => {
  const registry = running();
  registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
  registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
  const stopped = registry.get(SID);
  expect(stopped?.state).toBe('stopped');
  expect(stopped?.workload).toBeUndefined();
  expect(stopped?.ref).toEqual(ref);
  registry.upsert(workload());
  registry.upsert(pod('gr0a1b2c-0', 'Pending'));
  expect(registry.get(SID)?.state).toBe('stopped');
  registry.upsert(pod('gr0a1b2c-0', 'Running'));
  expect(registry.get(SID)?.state).toBe('running');
});

test('a pod being deleted is not running; PVCs being deleted make the component deleted; nothing left makes it undefined', () => {
  const registry = running();
  registry.upsert(pod('gr0a1b2c-0', 'Running', { deletionTimestamp: '2026-12-02T03:00:00Z' }));
  expect(registry.get(SID)?.state).toBe('stopped');
  registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
  registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
  registry.upsert(claim('manual1-gr0a1b2c-0', { deletionTimestamp: '2026-12-02T03:00:01Z' }));
  expect(registry.get(SID)?.state).toBe('deleted');
  registry.remove('PersistentVolumeClaim', 'acme-prod', 'manual1-gr0a1b2c-0');
  expect(registry.get(SID)).toBeUndefined();
  expect(registry.serviceIds()).toEqual([]);
  expect(registry.size).toBe(0);
});

test('listeners hear the service_id of every change, both ids when a label moves, and nothing for objects without a valid service_id', () => {
  const registry = new ComponentRegistry();
  const heard: string[] = [];
  const unsubscribe = registry.subscribe((id) => heard.push(id));
  registry.upsert(claim());
  registry.upsert(claim('manual1-gr0a1b2c-0', { labels: labels(OTHER) }));
  registry.upsert(pod('stray', 'Running', { labels: { creator: 'Wutong', service_id: 'not-hex' } }));
  registry.remove('Pod', 'acme-prod', 'absent');
  expect(heard).toEqual([SID, SID, OTHER]);
  expect(registry.get(SID)).toBeUndefined();
  expect(registry.get(OTHER)?.state).toBe('stopped');
  unsubscribe();
  registry.remove('PersistentVolumeClaim', 'acme-prod', 'manual1-gr0a1b2c-0');
  expect(heard).toHaveLength(3);
});

test('objectsOf gives the API what its label-selected lists gave: the same resolution', () => {
  const registry = running();
  const resolution = resolveComponent(ref, registry.objectsOf(ref));
  expect(resolution).toEqual({
    found: true,
    component: {
      ref,
      serviceId: SID,
      namespace: 'acme-prod',
      workload: { kind: 'StatefulSet', name: 'gr0a1b2c' },
      volumeClaims: ['manual1-gr0a1b2c-0'],
      runningPods: ['gr0a1b2c-0'],
      pods: ['gr0a1b2c-0'],
    },
  });
  // Same route, another service_id: ambiguous, as the live lists say.
  registry.upsert(claim('other-claim', { labels: labels(OTHER) }));
  expect(resolveComponent(ref, registry.objectsOf(ref))).toMatchObject({ found: false, reason: 'ambiguous' });
  expect(resolveComponent({ ...ref, serviceAlias: 'nope' }, registry.objectsOf({ ...ref, serviceAlias: 'nope' }))).toMatchObject({ found: false, reason: 'not-found' });
});
