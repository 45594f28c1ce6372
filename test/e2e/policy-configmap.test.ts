import { jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import type { AdmissionregistrationV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { generateDevelopmentTls } from '../../src/certificates/tls-files.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';
import { registerWebhook, unregisterWebhook } from './support/webhook-registration.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(60_000);

const CONFIG = 'e2e-policy-configmap';
const CONFIGMAP = 'wutong-backup-policy';
let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;
let namespace: string;
let webhook: WebhookProcess;

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

async function setPolicy(text: string): Promise<void> {
  await core.replaceNamespacedConfigMap({ name: CONFIGMAP, namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { 'policy.yaml': text } } });
}

async function metrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    request(`${webhook.url}/metrics`, { ca: webhook.caPem }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

beforeAll(async () => {
  ({ core, admission } = clients());
  namespace = await createNamespace(core, 'policy');
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: CONFIGMAP }, data: { 'policy.yaml': policy(['/bin/echo', 'v1']) } } });
  const tlsDir = mkdtempSync(join(tmpdir(), 'wb-e2e-tls-'));
  generateDevelopmentTls(tlsDir);
  webhook = await startWebhookProcess({ KUBECONFIG: clusterInfo().kubeconfigPath, POD_NAMESPACE: namespace, TLS_SOURCE: 'files', TLS_DIR: tlsDir });
  await registerWebhook(admission, { name: CONFIG, namespace, url: webhook.url, caPem: webhook.caPem });
  await waitUntilMutating(core, namespace, appPod('probe'), (p) => preCommand(p) === '["/bin/echo","v1"]');
});

afterAll(async () => {
  await unregisterWebhook(admission, CONFIG);
  await webhook?.stop();
  await deleteNamespace(core, namespace);
});

test('an edit of the policy ConfigMap is in force for pods created 2 seconds later', async () => {
  await setPolicy(policy(['/bin/echo', 'v2']));
  await new Promise((r) => setTimeout(r, 2_000));
  const stored = await core.createNamespacedPod({ namespace, body: appPod('after-edit') });
  expect(preCommand(stored)).toBe('["/bin/echo","v2"]');
});

test('an invalid edit leaves admission unchanged and is reported as an Event naming the field', async () => {
  await setPolicy(policy(['/bin/echo', 'v3'], 'soon'));
  const event = await eventually(async () => {
    const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${CONFIGMAP}` });
    return list.items.find((e) => e.reason === 'PolicyRejected');
  }, 'a PolicyRejected event');
  expect(event.type).toBe('Warning');
  expect(event.message).toContain('rules[0].backup.pre.timeout: expected a duration like 30s');

  const stored = await core.createNamespacedPod({ namespace, body: appPod('after-bad-edit') });
  expect(preCommand(stored)).toBe('["/bin/echo","v2"]');
  expect(await metrics()).toMatch(/^wutong_backup_policy_valid 0$/m);
});
