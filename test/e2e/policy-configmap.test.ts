import { jest } from '@jest/globals';
import { scrapeReplica } from './support/metrics-reader.js';
import type { CoreV1Api } from '@kubernetes/client-node';
import { clients, createNamespace, deleteNamespace } from './support/kube.js';
import { busyboxPod, echoPolicy, preBackupCommand } from './support/pods.js';
import { installShipped, setShippedPolicy, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

const CONFIGMAP = SHIPPED.policyConfigMap;
let core: CoreV1Api;
let install: ShippedInstall;
let namespace: string;
let webhook: WebhookProcess;
let webhookCa: string;





function metrics(): Promise<string> {
  return scrapeReplica(webhook, webhookCa);
}

// The shipped manifests with their policy ConfigMap, one replica as the
// ServiceAccount; the test then edits that ConfigMap.
beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('base');
  [webhook] = (await install.startReplicas(1)) as [WebhookProcess];
  webhookCa = (await install.storedCa()).toString();
  namespace = await createNamespace(core, 'policy');
  await setShippedPolicy(echoPolicy(['/bin/echo', 'v1']));
  await waitUntilMutating(core, namespace, busyboxPod('probe'), (p) => preBackupCommand(p) === '["/bin/echo","v1"]');
});

afterAll(async () => {
  await install?.uninstall();
  await deleteNamespace(core, namespace);
});

test('an edit of the policy ConfigMap is in force for pods created 2 seconds later', async () => {
  await setShippedPolicy(echoPolicy(['/bin/echo', 'v2']));
  await new Promise((r) => setTimeout(r, 2_000));
  const stored = await core.createNamespacedPod({ namespace, body: busyboxPod('after-edit') });
  expect(preBackupCommand(stored)).toBe('["/bin/echo","v2"]');
});

test('an invalid edit leaves admission unchanged and is reported as an Event naming the field', async () => {
  // Its own starting point, whatever ran before.
  await setShippedPolicy(echoPolicy(['/bin/echo', 'good']));
  await waitUntilMutating(core, namespace, busyboxPod('before-bad-edit'), (p) => preBackupCommand(p) === '["/bin/echo","good"]');
  await setShippedPolicy(echoPolicy(['/bin/echo', 'v3'], 'soon'));
  const event = await eventually(async () => {
    const list = await core.listNamespacedEvent({ namespace: SHIPPED.namespace, fieldSelector: `involvedObject.name=${CONFIGMAP}` });
    return list.items.find((e) => e.reason === 'PolicyRejected');
  }, 'a PolicyRejected event');
  expect(event.type).toBe('Warning');
  expect(event.message).toContain('rules[0].backup.pre.timeout: expected a duration like 30s');

  const stored = await core.createNamespacedPod({ namespace, body: busyboxPod('after-bad-edit') });
  expect(preBackupCommand(stored)).toBe('["/bin/echo","good"]');
  expect(await metrics()).toMatch(/^wutong_backup_policy_valid 0$/m);
});
