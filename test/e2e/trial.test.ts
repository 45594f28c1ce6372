import { jest } from '@jest/globals';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { clients, createNamespace, deleteNamespace } from './support/kube.js';
import { wutongMysqlPod } from './support/pods.js';
import { installShipped, type ShippedInstall } from './support/shipped-install.js';
import { waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

let core: CoreV1Api;
let install: ShippedInstall;
let trying: string;
let notTrying: string;
const hooked = (p: V1Pod): boolean => Boolean(p.metadata?.annotations?.['pre.hook.backup.velero.io/container']);

// manifests/overlays/trial with one replica: only labelled namespaces are sent to the webhook.
beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('overlays/trial');
  await install.startReplicas(1);
  trying = await createNamespace(core, 'trial-on');
  await core.patchNamespace({ name: trying, body: [{ op: 'add', path: '/metadata/labels/backup.wutong.io~1inject', value: 'true' }] });
  notTrying = await createNamespace(core, 'trial-off');
  await waitUntilMutating(core, trying, wutongMysqlPod('probe'), hooked);
});
afterAll(async () => {
  await install?.uninstall();
  await deleteNamespace(core, trying);
  await deleteNamespace(core, notTrying);
});

test('a Wutong pod in a namespace labelled backup.wutong.io/inject=true gets its hooks', async () => {
  expect(hooked(await core.createNamespacedPod({ namespace: trying, body: wutongMysqlPod('in-trial') }))).toBe(true);
});

test('a Wutong pod in any other namespace is not sent to the webhook', async () => {
  const stored = await core.createNamespacedPod({ namespace: notTrying, body: wutongMysqlPod('outside-trial') });
  expect(stored.metadata?.annotations).toBeUndefined();
});
