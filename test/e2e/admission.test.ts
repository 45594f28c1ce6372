import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CoreV1Api, AdmissionregistrationV1Api, V1Pod } from '@kubernetes/client-node';
import { DAY_MS, issueCa, issueServingCertificate } from '../../src/certificates/issue-certificates.js';
import { clients, createNamespace, createPodCapturingWarnings, deleteNamespace } from './support/kube.js';
import { plainPod, SERVICE_ID, wutongMysqlPod } from './support/pods.js';
import { installShipped, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { registerWebhook, unregisterWebhook } from './support/webhook-registration.js';
import { waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;
let namespace: string;
let install: ShippedInstall;
let webhook: WebhookProcess;
// Sorts after the shipped configuration's name (wutong-backup), so the API
// server calls it after ours and then calls ours again (IfNeeded).
const SECOND = 'zz-e2e-second-webhook';

const annotationsOf = (pod: V1Pod): Record<string, string> => pod.metadata?.annotations ?? {};
const veleroAnnotations = (pod: V1Pod): Record<string, string> =>
  Object.fromEntries(Object.entries(annotationsOf(pod)).filter(([k]) => k.includes('velero.io/')));

// The shipped manifests (manifests/base: failurePolicy Ignore), one replica
// running as the installed ServiceAccount.
beforeAll(async () => {
  ({ core, admission } = clients());
  install = await installShipped('base');
  // debug: one log line per review, with the skip reason
  [webhook] = (await install.startReplicas(1, { LOG_LEVEL: 'debug' })) as [WebhookProcess];
  namespace = await createNamespace(core, 'admission');
  await waitUntilMutating(core, namespace, wutongMysqlPod('probe'), (p) => 'backup.velero.io/backup-volumes' in annotationsOf(p));
});

afterAll(async () => {
  await unregisterWebhook(admission, SECOND);
  await install?.uninstall();
  await deleteNamespace(core, namespace);
});

test('a Wutong MySQL pod is stored with service_id, FSB volumes and hooks aimed at the MySQL container, not the sidecar', async () => {
  const pod = wutongMysqlPod('mysql-0');
  delete pod.metadata!.labels!.service_id;
  pod.spec!.containers[1]!.env!.push({ name: 'SERVICE_ID', value: SERVICE_ID });

  const stored = await core.createNamespacedPod({ namespace, body: pod });

  expect(stored.metadata?.labels?.service_id).toBe(SERVICE_ID);
  const velero = veleroAnnotations(stored);
  expect(velero['backup.velero.io/backup-volumes']).toBe('data');
  expect(velero['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
  expect(velero['pre.hook.backup.velero.io/on-error']).toBe('Fail');
  expect(velero['pre.hook.backup.velero.io/timeout']).toBe('30m');
  const argv = JSON.parse(velero['pre.hook.backup.velero.io/command'] ?? 'null') as string[];
  expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  expect(argv[2]).toContain('/var/lib/mysql/.wutong-backup-mysql.sql');
  expect(argv[2]).toContain('--single-transaction');
  // The password stays in the container's env; the annotation only names the variable.
  expect(JSON.stringify(stored.metadata?.annotations)).not.toContain('not-in-annotations');
  // Nothing else of the pod changed: the spec is what we sent.
  expect(stored.spec?.containers.map((c) => c.name)).toEqual(['wt-mesh', 'gr3a9f1c']);
  // (plus the token volume the ServiceAccount admission plugin mounts, as in any cluster)
  expect(stored.spec?.volumes?.map((v) => v.name).filter((n) => !n.startsWith('default-token-'))).toEqual(['data', 'mesh-config', 'tmp', 'token']);
});

test('on Kubernetes 1.20 a Wutong pod in kube-system is left alone although the namespaceSelector cannot exclude it', async () => {
  const kubeSystem = await core.readNamespace({ name: 'kube-system' });
  // What makes the shipped selector's name-based exclusion a no-op on 1.20:
  expect(kubeSystem.metadata?.labels?.['kubernetes.io/metadata.name']).toBeUndefined();
  const stored = await core.createNamespacedPod({ namespace: 'kube-system', body: wutongMysqlPod(`system-mysql-${Date.now()}`) });
  try {
    expect(veleroAnnotations(stored)).toEqual({});
    expect(annotationsOf(stored)['backup.wutong.io/managed']).toBeUndefined();
    // The API server did call the webhook, which skipped the pod itself.
    expect(webhook.logs.some((l) => String(l.skipReason).includes('namespace kube-system is excluded'))).toBe(true);
  } finally {
    await core.deleteNamespacedPod({ namespace: 'kube-system', name: stored.metadata!.name!, gracePeriodSeconds: 0 });
  }
});

test('a non-Wutong pod, an opted-out pod and a pod with its own hook annotations keep what they had', async () => {
  const nonWutong = await core.createNamespacedPod({ namespace, body: plainPod('nginx', { app: 'nginx' }) });
  expect(nonWutong.metadata?.annotations).toBeUndefined();
  expect(nonWutong.metadata?.labels).toEqual({ app: 'nginx' });

  const optedOut = wutongMysqlPod('opted-out');
  optedOut.metadata!.labels!['backup.wutong.io/inject'] = 'false';
  const storedOptedOut = await core.createNamespacedPod({ namespace, body: optedOut });
  expect(storedOptedOut.metadata?.annotations).toBeUndefined();

  const own = wutongMysqlPod('own-hooks');
  own.metadata!.annotations = {
    'pre.hook.backup.velero.io/command': '["/usr/local/bin/my-backup"]',
    'pre.hook.backup.velero.io/container': 'gr3a9f1c',
    'backup.velero.io/backup-volumes': 'data,tmp',
  };
  const storedOwn = await core.createNamespacedPod({ namespace, body: own });
  const velero = veleroAnnotations(storedOwn);
  expect(velero['pre.hook.backup.velero.io/command']).toBe('["/usr/local/bin/my-backup"]');
  expect(velero['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
  expect(velero['backup.velero.io/backup-volumes']).toBe('data,tmp');
  expect(velero['pre.hook.backup.velero.io/timeout']).toBeUndefined();
  expect(velero['pre.hook.backup.velero.io/on-error']).toBeUndefined();
});

test("the webhook's warnings reach the client that created the pod", async () => {
  const pod = wutongMysqlPod('no-id');
  delete pod.metadata!.labels!.service_id;
  pod.spec!.volumes!.push({ name: 'host', hostPath: { path: '/var/log' } });

  const { pod: stored, warnings } = await createPodCapturingWarnings(namespace, pod);

  expect(stored.metadata?.labels?.service_id).toBeUndefined();
  expect(warnings).toEqual(
    expect.arrayContaining([
      expect.stringContaining('no service_id'),
      expect.stringContaining('volume "host" is a hostPath'),
    ]),
  );
});

// Velero v1.11.1 internal/hook/item_hook_handler.go L214-219: the legacy hook.backup.velero.io/* keys are the pre hook
// only while pre.hook.backup.velero.io/command is absent; the stored pod must keep the user's hook the one Velero runs.
test("a pod with Velero's legacy hook keys is stored with them as its only pre-backup hook, and the client is told why", async () => {
  const pod = wutongMysqlPod('legacy-hook');
  pod.metadata!.annotations = { 'hook.backup.velero.io/command': '["/usr/local/bin/my-backup"]', 'hook.backup.velero.io/container': 'gr3a9f1c' };
  const { pod: stored, warnings } = await createPodCapturingWarnings(namespace, pod);
  const velero = veleroAnnotations(stored);
  expect(Object.keys(velero).filter((k) => k.startsWith('pre.hook.backup.velero.io/'))).toEqual([]);
  expect(velero['hook.backup.velero.io/command']).toBe('["/usr/local/bin/my-backup"]');
  expect(velero['backup.velero.io/backup-volumes']).toBe('data');
  expect(warnings).toContainEqual(expect.stringContaining("legacy keys hook.backup.velero.io/* is kept"));
});

describe('reinvocation', () => {
  let second: Server;

  beforeAll(async () => {
    // A second mutating webhook (say, a service mesh) that adds a PVC volume
    // after ours has run. Its configuration name sorts after ours, so the
    // API server calls it second and then calls ours again (IfNeeded).
    const ca = issueCa('second webhook CA', { validityMs: DAY_MS });
    const tls = issueServingCertificate(ca, ['127.0.0.1'], { validityMs: DAY_MS });
    second = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as { request: { uid: string; object: V1Pod } };
        const has = review.request.object.spec?.volumes?.some((v) => v.name === 'cache');
        const patch = has
          ? []
          : [{ op: 'add', path: '/spec/volumes/-', value: { name: 'cache', persistentVolumeClaim: { claimName: 'cache' } } }];
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
          }),
        );
      });
    });
    await new Promise<void>((r) => second.listen(0, '127.0.0.1', r));
    const port = (second.address() as AddressInfo).port;
    await registerWebhook(admission, { name: SECOND, namespace, url: `https://127.0.0.1:${port}`, caPem: ca.cert });
  });
  afterAll(async () => {
    await unregisterWebhook(admission, SECOND);
    await new Promise((r) => second.close(r));
  });

  test('a volume added by a later webhook is in the backup list of the stored pod', async () => {
    const stored = await waitUntilMutating(core, namespace, wutongMysqlPod('reinvoked'), (p) =>
      Boolean(p.spec?.volumes?.some((v) => v.name === 'cache')),
    );
    expect(stored.spec?.volumes?.map((v) => v.name)).toContain('cache');
    expect(annotationsOf(stored)['backup.velero.io/backup-volumes']).toBe('data,cache');
    expect(annotationsOf(stored)['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
  });
});

describe('when the webhook is down', () => {
  beforeAll(async () => {
    await webhook.stop();
  });

  test('the shipped failurePolicy Ignore lets pods through unannotated', async () => {
    const stored = await core.createNamespacedPod({ namespace, body: wutongMysqlPod('while-down-ignore') });
    expect(stored.metadata?.name).toBe('while-down-ignore');
    expect(veleroAnnotations(stored)).toEqual({});
  });
});
