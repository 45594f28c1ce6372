import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CoreV1Api, AdmissionregistrationV1Api, V1Pod } from '@kubernetes/client-node';
import { DAY_MS, issueCa, issueServingCertificate } from '../../src/certificates/issue-certificates.js';
import { clients, createNamespace, createPodCapturingWarnings, deleteNamespace } from './support/kube.js';
import { plainPod, SERVICE_ID, wutongMysqlPod } from './support/pods.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';
import { registerWebhook, unregisterWebhook } from './support/webhook-registration.js';
import { waitUntilMutating } from './support/wait.js';

jest.setTimeout(60_000);

let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;
let namespace: string;
let webhook: WebhookProcess;
const CONFIG = 'e2e-admission';

const annotationsOf = (pod: V1Pod): Record<string, string> => pod.metadata?.annotations ?? {};
const veleroAnnotations = (pod: V1Pod): Record<string, string> =>
  Object.fromEntries(Object.entries(annotationsOf(pod)).filter(([k]) => k.includes('velero.io/')));

beforeAll(async () => {
  ({ core, admission } = clients());
  namespace = await createNamespace(core, 'admission');
  webhook = await startWebhookProcess();
  await registerWebhook(admission, { name: CONFIG, namespace, url: webhook.url, caPem: webhook.caPem });
  await waitUntilMutating(core, namespace, wutongMysqlPod('probe'), (p) => 'backup.velero.io/backup-volumes' in annotationsOf(p));
});

afterAll(async () => {
  await unregisterWebhook(admission, CONFIG);
  await unregisterWebhook(admission, `${CONFIG}-second`);
  await webhook?.stop();
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
  expect(stored.spec?.volumes?.map((v) => v.name)).toEqual(['data', 'mesh-config', 'tmp', 'token']);
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

describe('when the webhook is down', () => {
  let stopped: WebhookProcess;
  const name = `${CONFIG}-down`;

  beforeAll(async () => {
    stopped = await startWebhookProcess();
    await stopped.stop();
  });
  afterAll(() => unregisterWebhook(admission, name));

  test('failurePolicy Ignore lets pods through unannotated', async () => {
    await registerWebhook(admission, { name, namespace, url: stopped.url, caPem: stopped.caPem, failurePolicy: 'Ignore', timeoutSeconds: 2 });
    await new Promise((r) => setTimeout(r, 1500));
    const stored = await core.createNamespacedPod({ namespace, body: plainPod('while-down-ignore', { creator: 'Wutong' }) });
    expect(stored.metadata?.name).toBe('while-down-ignore');
  });

  test('failurePolicy Fail refuses the pod with a message naming the webhook', async () => {
    await registerWebhook(admission, { name, namespace, url: stopped.url, caPem: stopped.caPem, failurePolicy: 'Fail', timeoutSeconds: 2 });
    const attempt = async (): Promise<string> => {
      try {
        await core.createNamespacedPod({ namespace, body: plainPod(`while-down-fail-${Date.now()}`, { creator: 'Wutong' }) });
        return 'created';
      } catch (err) {
        const body = (err as { body?: unknown }).body;
        return typeof body === 'string' ? ((JSON.parse(body) as { message: string }).message) : String(err);
      }
    };
    // Give the API server a moment to see the new failure policy.
    let outcome = await attempt();
    for (let i = 0; i < 20 && outcome === 'created'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      outcome = await attempt();
    }
    expect(outcome).toContain(`failed calling webhook "${name}.backup.wutong.io"`);
  });
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
    await registerWebhook(admission, { name: CONFIG, namespace, url: webhook.url, caPem: webhook.caPem, reinvocationPolicy: 'IfNeeded' });
    await registerWebhook(admission, { name: `${CONFIG}-second`, namespace, url: `https://127.0.0.1:${port}`, caPem: ca.cert });
  });
  afterAll(async () => {
    await unregisterWebhook(admission, `${CONFIG}-second`);
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
