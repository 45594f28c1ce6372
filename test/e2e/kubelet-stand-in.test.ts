import { jest } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiStatus } from '../../src/kube/api-error.js';
import { apiRequest } from './cluster/cluster.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './support/kubelet-stand-in.js';
import { plainPod } from './support/pods.js';
import { eventually } from './support/wait.js';

jest.setTimeout(90_000);

let core: CoreV1Api;
let namespace: string;
let kubelet: KubeletStandIn;
const NODE = `stand-in-${process.pid}`;

beforeAll(async () => {
  ({ core } = clients());
  namespace = await createNamespace(core, 'kubelet');
  kubelet = await startKubeletStandIn(NODE);
  kubelet.runPods(namespace, 'run=yes');
});
afterAll(async () => {
  await kubelet?.stop();
  await deleteNamespace(core, namespace);
});

test('registers a Ready Node', async () => {
  const node = await core.readNode({ name: NODE });
  expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
});

test('binds the pods it is told to run and reports them Running and Ready; other pods stay Pending and unbound', async () => {
  await core.createNamespacedPod({ namespace, body: plainPod('told', { run: 'yes' }) });
  await core.createNamespacedPod({ namespace, body: plainPod('not-told', { run: 'no' }) });
  const running = await eventually(async () => {
    const pod = await core.readNamespacedPod({ namespace, name: 'told' });
    return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod : undefined;
  }, 'the told pod to be Ready');
  expect(running.spec?.nodeName).toBe(NODE);
  expect(running.status?.phase).toBe('Running');
  expect(running.status?.containerStatuses?.map((c) => c.ready)).toEqual([true]);
  const other = await core.readNamespacedPod({ namespace, name: 'not-told' });
  expect(other.spec?.nodeName).toBeUndefined();
  expect(other.status?.phase).toBe('Pending');
});

test('completes a deletion like a kubelet: the pod stays for its grace period, then is removed', async () => {
  await core.createNamespacedPod({ namespace, body: plainPod('graceful', { run: 'yes' }) });
  await eventually(async () => ((await core.readNamespacedPod({ namespace, name: 'graceful' })).status?.phase === 'Running' ? true : undefined), 'Running');
  const deletedAt = Date.now();
  await core.deleteNamespacedPod({ namespace, name: 'graceful', gracePeriodSeconds: 4 });
  const terminating = await core.readNamespacedPod({ namespace, name: 'graceful' });
  expect(terminating.metadata?.deletionTimestamp).toBeDefined();
  await eventually(async () => {
    try {
      await core.readNamespacedPod({ namespace, name: 'graceful' });
      return undefined;
    } catch (err) {
      return apiStatus(err) === 404 ? true : undefined;
    }
  }, 'the pod to be gone', 30_000);
  // deletionTimestamp has one-second resolution: allow that much early.
  expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(3_000);
});

test('a pod with a readiness gate is Running but not Ready until the gate\'s condition is True (kubernetes v1.20 pkg/kubelet/status/generate.go GeneratePodReadyCondition)', async () => {
  const gate = 'example.com/answers';
  const body = plainPod('gated', { run: 'yes' });
  body.spec = { ...body.spec!, readinessGates: [{ conditionType: gate }] };
  await core.createNamespacedPod({ namespace, body });
  const readyOf = async () => (await core.readNamespacedPod({ namespace, name: 'gated' })).status?.conditions?.find((c) => c.type === 'Ready');
  const unready = await eventually(async () => ((await core.readNamespacedPod({ namespace, name: 'gated' })).status?.phase === 'Running' ? readyOf() : undefined), 'gated Running');
  expect(unready).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${gate}" does not exist.` });
  // Another party (a load balancer controller, here the test) writes the gate's condition; the kubelet then reports Ready.
  expect((await apiRequest(clusterInfo(), 'PATCH', `/api/v1/namespaces/${namespace}/pods/gated/status`, { status: { conditions: [{ type: gate, status: 'False' }] } }, 'application/strategic-merge-patch+json')).status).toBe(200);
  await eventually(async () => ((await readyOf())?.message === `the status of pod readiness gate "${gate}" is not "True", but False` ? true : undefined), 'Ready False naming the gate\'s status');
  expect((await apiRequest(clusterInfo(), 'PATCH', `/api/v1/namespaces/${namespace}/pods/gated/status`, { status: { conditions: [{ type: gate, status: 'True' }] } }, 'application/strategic-merge-patch+json')).status).toBe(200);
  const ready = await eventually(async () => {
    const c = await readyOf();
    return c?.status === 'True' ? c : undefined;
  }, 'Ready once the gate is True');
  expect(ready.reason).toBeUndefined();
  expect(ready.message).toBeUndefined();
});
