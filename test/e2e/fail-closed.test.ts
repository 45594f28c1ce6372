import { jest } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';
import { clients, createNamespace, deleteNamespace } from './support/kube.js';
import { plainPod, wutongMysqlPod } from './support/pods.js';
import { installShipped, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

let core: CoreV1Api;
let install: ShippedInstall;
let namespace: string;

/** Creates a pod; resolves to "created" or the API server's refusal message. */
async function attempt(ns: string, pod: ReturnType<typeof plainPod>): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace: ns, body: pod });
    return 'created';
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    return typeof body === 'string' ? (JSON.parse(body) as { message: string }).message : String(err);
  }
}

// manifests/overlays/fail-closed, installed, its one replica stopped after it served once.
beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('overlays/fail-closed');
  const [webhook] = (await install.startReplicas(1)) as [WebhookProcess];
  namespace = await createNamespace(core, 'fail-closed');
  await waitUntilMutating(core, namespace, wutongMysqlPod('probe'), (p) => Boolean(p.metadata?.annotations?.['pre.hook.backup.velero.io/container']));
  await webhook.stop();
});

afterAll(async () => {
  await install?.uninstall();
  await deleteNamespace(core, namespace);
});

test('while the webhook is down, a Wutong pod is refused with a message naming the webhook', async () => {
  const outcome = await attempt(namespace, wutongMysqlPod(`refused-${Date.now()}`));
  expect(outcome).toContain('failed calling webhook "pods.backup.wutong.io"');
});

test('while the webhook is down, the cluster’s own pods still start: kube-system on Kubernetes 1.20 and any non-Wutong pod', async () => {
  const name = `system-pod-${Date.now()}`;
  expect(await attempt('kube-system', plainPod(name, { 'k8s-app': 'kube-dns' }))).toBe('created');
  await core.deleteNamespacedPod({ namespace: 'kube-system', name, gracePeriodSeconds: 0 });
  expect(await attempt(namespace, plainPod(`plain-${Date.now()}`, { app: 'nginx' }))).toBe('created');
});
