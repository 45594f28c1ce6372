import { jest } from '@jest/globals';
import { request } from 'node:https';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { clients, createNamespace, deleteNamespace } from './support/kube.js';
import { installShipped, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

const CONFIGMAP = SHIPPED.policyConfigMap;
let core: CoreV1Api;
let install: ShippedInstall;
let namespace: string;
let webhook: WebhookProcess;
let webhookCa: string;

function policy(command: string[], timeout = '1m'): string {
  return `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match:
      image: '^busybox'
    backup:
      pre:
        command: ${JSON.stringify(command)}
        timeout: ${timeout}
`;
}

function appPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { creator: 'Wutong', service_id: 'aaaabbbbccccddddeeeeffff00001111' } },
    spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
  };
}

const preCommand = (p: V1Pod): string | undefined => p.metadata?.annotations?.['pre.hook.backup.velero.io/command'];

/** Edits the installed policy ConfigMap, as an operator would. */
async function setPolicy(text: string): Promise<void> {
  const ns = SHIPPED.namespace;
  await core.replaceNamespacedConfigMap({ name: CONFIGMAP, namespace: ns, body: { metadata: { name: CONFIGMAP, namespace: ns }, data: { 'policy.yaml': text } } });
}

async function metrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    request(`${webhook.url}/metrics`, { ca: webhookCa }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

// The shipped manifests with their policy ConfigMap, one replica as the
// ServiceAccount; the test then edits that ConfigMap.
beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('base');
  [webhook] = (await install.startReplicas(1)) as [WebhookProcess];
  webhookCa = (await install.storedCa()).toString();
  namespace = await createNamespace(core, 'policy');
  await setPolicy(policy(['/bin/echo', 'v1']));
  await waitUntilMutating(core, namespace, appPod('probe'), (p) => preCommand(p) === '["/bin/echo","v1"]');
});

afterAll(async () => {
  await install?.uninstall();
  await deleteNamespace(core, namespace);
});

test('an edit of the policy ConfigMap is in force for pods created 2 seconds later', async () => {
  await setPolicy(policy(['/bin/echo', 'v2']));
  await new Promise((r) => setTimeout(r, 2_000));
  const stored = await core.createNamespacedPod({ namespace, body: appPod('after-edit') });
  expect(preCommand(stored)).toBe('["/bin/echo","v2"]');
});

test('an invalid edit leaves admission unchanged and is reported as an Event naming the field', async () => {
  // Its own starting point, whatever ran before.
  await setPolicy(policy(['/bin/echo', 'good']));
  await waitUntilMutating(core, namespace, appPod('before-bad-edit'), (p) => preCommand(p) === '["/bin/echo","good"]');
  await setPolicy(policy(['/bin/echo', 'v3'], 'soon'));
  const event = await eventually(async () => {
    const list = await core.listNamespacedEvent({ namespace: SHIPPED.namespace, fieldSelector: `involvedObject.name=${CONFIGMAP}` });
    return list.items.find((e) => e.reason === 'PolicyRejected');
  }, 'a PolicyRejected event');
  expect(event.type).toBe('Warning');
  expect(event.message).toContain('rules[0].backup.pre.timeout: expected a duration like 30s');

  const stored = await core.createNamespacedPod({ namespace, body: appPod('after-bad-edit') });
  expect(preCommand(stored)).toBe('["/bin/echo","good"]');
  expect(await metrics()).toMatch(/^wutong_backup_policy_valid 0$/m);
});
