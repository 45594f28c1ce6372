import { backupRoute, restoreBlocker } from '../../../src/components/component-state.js';
import { componentKey } from '../../../src/components/component-key.js';
import { resolveComponent, type ComponentObjects, type LabelledObject } from '../../../src/components/resolve-component.js';

const SERVICE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const NS = 'acme-prod';
const ref = { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0a1b2c' };
const labels = (serviceId = SERVICE_ID): Record<string, string> => ({ creator: 'Wutong', service_id: serviceId, service_alias: 'gr0a1b2c', tenant_name: 'acme', tenant_env_name: 'prod' });
const object = (name: string, namespace = 'acme-prod', serviceId = SERVICE_ID): LabelledObject => ({ metadata: { name, namespace, labels: labels(serviceId) } });

const running: ComponentObjects = {
  workloads: [{ ...object('gr0a1b2c'), kind: 'StatefulSet' }],
  volumeClaims: [object('manual1001-gr0a1b2c-0')],
  pods: [{ ...object('gr0a1b2c-0'), phase: 'Running' }],
};

test('a running component resolves with its namespace, service_id, workload, PVCs and running pods, and may be backed up but not restored', () => {
  const resolution = resolveComponent(ref, NS, running);
  expect(resolution).toEqual({
    found: true,
    component: {
      key: componentKey(NS, SERVICE_ID),
      ref,
      serviceId: SERVICE_ID,
      namespace: 'acme-prod',
      workload: { kind: 'StatefulSet', name: 'gr0a1b2c' },
      volumeClaims: ['manual1001-gr0a1b2c-0'],
      runningPods: ['gr0a1b2c-0'],
      pods: ['gr0a1b2c-0'],
    },
  });
  if (!resolution.found) throw new Error('unreachable');
  expect(backupRoute(resolution.component)).toEqual({ kind: 'running' });
  expect(restoreBlocker(resolution.component)).toMatch(/is running \(StatefulSet gr0a1b2c\): stop it first/);
});

test('a stopped component (Wutong deleted workload and pods, the PVC stays) still resolves; it may be restored, and backed up at rest', () => {
  const resolution = resolveComponent(ref, NS, { workloads: [], volumeClaims: running.volumeClaims, pods: [] });
  if (!resolution.found) throw new Error(resolution.message);
  expect(resolution.component.workload).toBeUndefined();
  expect(restoreBlocker(resolution.component)).toBeUndefined();
  expect(backupRoute(resolution.component)).toEqual({ kind: 'at-rest' });
});

test('half way is neither: a workload whose pods do not run, or pods still going, blocks a backup (a holder would race them for the volumes)', () => {
  const starting = resolveComponent(ref, NS, { ...running, pods: [{ ...object('gr0a1b2c-0'), phase: 'Pending' }] });
  if (!starting.found) throw new Error(starting.message);
  expect(backupRoute(starting.component)).toMatchObject({ kind: 'blocked', code: 'component_not_running', reason: expect.stringMatching(/has a StatefulSet \(gr0a1b2c\) but no running pod/) as unknown });
  const stopping = resolveComponent(ref, NS, { workloads: [], volumeClaims: running.volumeClaims, pods: [{ ...object('gr0a1b2c-0'), phase: 'Running', metadata: { ...object('gr0a1b2c-0').metadata, deletionTimestamp: '2026-12-02T00:00:00Z' } }] });
  if (!stopping.found) throw new Error(stopping.message);
  expect(backupRoute(stopping.component)).toMatchObject({ kind: 'blocked', reason: expect.stringMatching(/is stopping \(pods gr0a1b2c-0 still present\)/) as unknown });
});

test('pods that are not Running, or being deleted, do not count as running; a pod still terminating blocks a restore', () => {
  const terminating = { ...object('gr0a1b2c-0'), phase: 'Running', metadata: { ...object('gr0a1b2c-0').metadata, deletionTimestamp: '2026-12-02T00:00:00Z' } };
  const resolution = resolveComponent(ref, NS, { workloads: [], volumeClaims: running.volumeClaims, pods: [terminating, { ...object('gr0a1b2c-1'), phase: 'Pending' }] });
  if (!resolution.found) throw new Error(resolution.message);
  expect(resolution.component.runningPods).toEqual([]);
  expect(restoreBlocker(resolution.component)).toMatch(/still has pods \(gr0a1b2c-0, gr0a1b2c-1\)/);
});

test('a component without PVCs cannot be backed up: there is no data', () => {
  const resolution = resolveComponent(ref, NS, { ...running, volumeClaims: [] });
  if (!resolution.found) throw new Error(resolution.message);
  expect(backupRoute(resolution.component)).toMatchObject({ kind: 'blocked', code: 'no_volumes', reason: expect.stringMatching(/has no persistent volume claims/) as unknown });
});

test('nothing under the alias in the namespace: not found, naming the component', () => {
  expect(resolveComponent(ref, NS, { workloads: [], volumeClaims: [], pods: [] })).toEqual({
    found: false,
    reason: 'not-found',
    message: 'component acme/prod/gr0a1b2c not found: no workload, pod or PVC in its namespace carries its alias',
  });
});

test('two service_ids under the alias in the namespace: ambiguous, never a guess', () => {
  const twoIds = resolveComponent(ref, NS, { ...running, volumeClaims: [object('other', 'acme-prod', 'ffffffffffffffffffffffffffffffff')] });
  expect(twoIds).toMatchObject({ found: false, reason: 'ambiguous', message: expect.stringContaining('in namespace acme-prod') as unknown });
});

test('objects of another namespace are ignored whatever they claim: they neither make the component ambiguous nor join it', () => {
  // Tenant B's namespace holds objects with A's alias, tenant labels and a service_id (A's or another).
  const forged = resolveComponent(ref, NS, {
    workloads: [...running.workloads, { ...object('gr0a1b2c', 'elsewhere', 'ffffffffffffffffffffffffffffffff'), kind: 'Deployment' }],
    volumeClaims: [...running.volumeClaims, object('manual1001-gr0a1b2c-0', 'elsewhere')],
    pods: [...running.pods, { ...object('gr0a1b2c-9', 'elsewhere'), phase: 'Running' }],
  });
  expect(forged).toEqual(resolveComponent(ref, NS, running));
  expect(forged).toMatchObject({ found: true, component: { key: componentKey(NS, SERVICE_ID), namespace: NS, volumeClaims: ['manual1001-gr0a1b2c-0'], pods: ['gr0a1b2c-0'] } });
  // Only objects elsewhere: not found in this namespace.
  expect(resolveComponent(ref, NS, { workloads: [], volumeClaims: [object('x', 'elsewhere')], pods: [] })).toMatchObject({ found: false, reason: 'not-found' });
  // And the same objects resolve as the other namespace's own component, a different key.
  const theirs = resolveComponent(ref, 'elsewhere', { workloads: [], volumeClaims: [object('manual1001-gr0a1b2c-0', 'elsewhere')], pods: [] });
  expect(theirs).toMatchObject({ found: true, component: { key: componentKey('elsewhere', SERVICE_ID), namespace: 'elsewhere' } });
});

test('objects whose service_id label is not a Wutong id do not resolve', () => {
  expect(resolveComponent(ref, NS, { workloads: [], volumeClaims: [object('x', NS, 'not-an-id')], pods: [] })).toMatchObject({ found: false, reason: 'not-found' });
});
