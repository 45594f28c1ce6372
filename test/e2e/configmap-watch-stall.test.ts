import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionregistrationV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { generateDevelopmentTls } from '../../src/certificates/tls-files.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';
import { registerWebhook, unregisterWebhook } from './support/webhook-registration.js';
import { waitUntilMutating } from './support/wait.js';

// The webhook reaches the API server through a loopback proxy that, mid-watch,
// silently stops forwarding (half-open: no FIN, no RST, no error). A policy
// edit made after that must still come into force within the bound the README
// promises: the watch's idle deadline (server timeout 30 s + 5 s) notices, the
// relist delivers the edit: 40 s.
jest.setTimeout(120_000);

const PROMISED_BOUND_MS = 40_000;
const CONFIG = 'e2e-policy-stall';
const CONFIGMAP = 'wutong-backup-policy';
let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;
let namespace: string;
let webhook: WebhookProcess;
let proxy: TcpProxy;

function policy(marker: string): string {
  return `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match:
      image: '^busybox'
    backup:
      pre:
        command: ["/bin/echo", "${marker}"]
`;
}
const appPod = (name: string): V1Pod => ({
  metadata: { name, labels: { creator: 'Wutong', service_id: 'aaaabbbbccccddddeeeeffff00001111' } },
  spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
});
const preCommand = (p: V1Pod): string | undefined => p.metadata?.annotations?.['pre.hook.backup.velero.io/command'];

beforeAll(async () => {
  ({ core, admission } = clients());
  namespace = await createNamespace(core, 'stall');
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: CONFIGMAP }, data: { 'policy.yaml': policy('before') } } });
  const info = clusterInfo();
  proxy = await startTcpProxy(() => [Number(new URL(info.server).port)]);
  const dir = mkdtempSync(join(tmpdir(), 'wb-e2e-stall-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(info.kubeconfigPath, 'utf8').replace(info.server, `https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  const tlsDir = join(dir, 'tls');
  generateDevelopmentTls(tlsDir);
  webhook = await startWebhookProcess({ KUBECONFIG: kubeconfig, POD_NAMESPACE: namespace, TLS_SOURCE: 'files', TLS_DIR: tlsDir });
  await registerWebhook(admission, { name: CONFIG, namespace, url: webhook.url, caPem: webhook.caPem });
  await waitUntilMutating(core, namespace, appPod('probe'), (p) => preCommand(p) === '["/bin/echo","before"]');
});

afterAll(async () => {
  await unregisterWebhook(admission, CONFIG);
  await webhook?.stop();
  await proxy?.close();
  await deleteNamespace(core, namespace);
});

test(`an edit made after the API server connection silently stalls is in force within ${PROMISED_BOUND_MS / 1000} s`, async () => {
  // The probe saw the listed policy; give the watch that follows the list time to reach the API server.
  await new Promise((r) => setTimeout(r, 2_000));
  proxy.stall();
  await core.replaceNamespacedConfigMap({ name: CONFIGMAP, namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { 'policy.yaml': policy('after') } } });
  const editedAt = Date.now();
  let inForceMs: number | undefined;
  while (Date.now() - editedAt < PROMISED_BOUND_MS + 10_000) {
    const pod = await core.createNamespacedPod({ namespace, body: appPod('after-stall'), dryRun: 'All' });
    if (preCommand(pod) === '["/bin/echo","after"]') {
      inForceMs = Date.now() - editedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`policy edit in force ${inForceMs ?? 'never'} ms after it was made on a stalled connection`);
  expect(inForceMs).toBeDefined();
  expect(inForceMs).toBeLessThanOrEqual(PROMISED_BOUND_MS);
  // It was the idle deadline that noticed, not luck.
  expect(webhook.logs.some((l) => l.msg === 'list/watch failed; relisting' && /no data on the watch/.test(String(l.err)))).toBe(true);
});
