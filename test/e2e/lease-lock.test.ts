import { jest } from '@jest/globals';
import pino from 'pino';
import { ApiError } from '../../src/api/api-error.js';
import { kubeHttp } from '../../src/kube/kube-http.js';
import { leaseLock } from '../../src/kube/lease-lock.js';
import { componentKey } from '../../src/components/component-key.js';
import { namespaceTag } from '../../src/velero/object-names.js';
import { apiRequest } from './cluster/cluster.js';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';

jest.setTimeout(60_000);

const info = clusterInfo();
const log = pino({ level: 'silent' });
const http = kubeHttp(adminKubeConfig());
let namespace: string;
const SERVICE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
// The component the lock is for: a namespace of a tenant env, not the Leases' own.
const COMPONENT_NAMESPACE = 'tenant-a-env-1';
const COMPONENT = componentKey(COMPONENT_NAMESPACE, SERVICE_ID);

beforeAll(async () => {
  namespace = await createNamespace(clients().core, 'lease-lock');
});
afterAll(() => deleteNamespace(clients().core, namespace));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const leasePath = (): string => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/wutong-backup-${SERVICE_ID}-${namespaceTag(COMPONENT_NAMESPACE)}`;

test('two holders (two replicas) never run their sections at once, and the Lease is gone after each', async () => {
  const replicaA = leaseLock(http, { namespace, holder: 'replica-a' }, log);
  const replicaB = leaseLock(http, { namespace, holder: 'replica-b' }, log);
  let inside = 0;
  let overlapped = false;
  const section = async (): Promise<void> => {
    inside++;
    if (inside > 1) overlapped = true;
    await sleep(20);
    inside--;
  };
  await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? replicaA : replicaB).withLock(COMPONENT, section)));
  expect(overlapped).toBe(false);
  expect((await apiRequest(info, 'GET', leasePath())).status).toBe(404);
});

test('a Lease whose holder died (not renewed past its duration) is taken over; a live one makes the request wait, then 503 "retry"', async () => {
  const stale = new Date(Date.now() - 10 * 60_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const created = await apiRequest(info, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
    metadata: { name: `wutong-backup-${SERVICE_ID}-${namespaceTag(COMPONENT_NAMESPACE)}` },
    spec: { holderIdentity: 'crashed-replica/1', leaseDurationSeconds: 30, acquireTime: stale, renewTime: stale },
  });
  expect(created.status).toBe(201);
  const lock = leaseLock(http, { namespace, holder: 'replica-c' }, log);
  await expect(lock.withLock(COMPONENT, () => Promise.resolve('ran'))).resolves.toBe('ran');

  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const live = await apiRequest(info, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
    metadata: { name: `wutong-backup-${SERVICE_ID}-${namespaceTag(COMPONENT_NAMESPACE)}` },
    spec: { holderIdentity: 'busy-replica/1', leaseDurationSeconds: 30, acquireTime: now, renewTime: now },
  });
  expect(live.status).toBe(201);
  const impatient = leaseLock(http, { namespace, holder: 'replica-d', waitMs: 1_000 }, log);
  const started = Date.now();
  const refused = await impatient.withLock(COMPONENT, () => Promise.resolve('must not run')).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(ApiError);
  expect(refused).toMatchObject({ status: 503, code: 'component_busy' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  // The live holder's Lease is untouched.
  expect(((await apiRequest(info, 'GET', leasePath())).json as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe('busy-replica/1');
  await apiRequest(info, 'DELETE', leasePath());
});

test('a section that throws still releases the lock', async () => {
  const lock = leaseLock(http, { namespace, holder: 'replica-e' }, log);
  await expect(lock.withLock(COMPONENT, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect((await apiRequest(info, 'GET', leasePath())).status).toBe(404);
});
