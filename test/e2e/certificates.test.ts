import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { AdmissionregistrationV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';
import { unregisterWebhook, webhookEntry } from './support/webhook-registration.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(120_000);

const SECRET = 'wutong-backup-tls';
let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;

const mysqlPod = (name: string): V1Pod => ({
  metadata: { name, labels: { creator: 'Wutong', service_id: 'aaaabbbbccccddddeeeeffff00001111' } },
  spec: {
    containers: [{ name: 'db', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
  },
});
const injected = (p: V1Pod): boolean => p.metadata?.annotations?.['pre.hook.backup.velero.io/container'] === 'db';

/** The certificate a webhook presents to a fresh TLS handshake. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}

async function storedCa(namespace: string): Promise<X509Certificate> {
  const secret = await core.readNamespacedSecret({ name: SECRET, namespace });
  return new X509Certificate(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64'));
}

/** Starts `count` webhook replicas at once in self mode, sharing one namespace, Secret and webhook configuration. */
async function startReplicas(namespace: string, configuration: string, count: number, env: Record<string, string> = {}): Promise<WebhookProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      startWebhookProcess({
        KUBECONFIG: clusterInfo().kubeconfigPath,
        POD_NAMESPACE: namespace,
        TLS_SOURCE: 'self',
        WEBHOOK_CONFIGURATION_NAME: configuration,
        TLS_RELOAD_INTERVAL: '1s',
        ...env,
      }),
    ),
  );
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw failed.reason;
  }
  return replicas;
}

/** One webhook entry per replica, registered WITHOUT a caBundle: the replicas must fill it in. */
async function registerWithoutCa(name: string, namespace: string, replicas: WebhookProcess[]): Promise<void> {
  const webhooks = replicas.map((r, i) => {
    const entry = webhookEntry({ name: `${name}-${i}`, namespace, url: r.url, caPem: '', failurePolicy: 'Fail' });
    delete entry.clientConfig.caBundle;
    return entry;
  });
  await admission.createMutatingWebhookConfiguration({ body: { metadata: { name }, webhooks } });
}

beforeAll(() => {
  ({ core, admission } = clients());
});

describe('TLS_SOURCE=self against the real API server', () => {
  let namespace: string;
  let replicas: WebhookProcess[] = [];
  const configuration = 'e2e-tls-bootstrap';

  beforeAll(async () => {
    namespace = await createNamespace(core, 'tls');
    replicas = await startReplicas(namespace, configuration, 2);
    await registerWithoutCa(configuration, namespace, replicas);
  });
  afterAll(async () => {
    await unregisterWebhook(admission, configuration);
    await Promise.all(replicas.map((r) => r.stop()));
    await deleteNamespace(core, namespace);
  });

  test('two replicas started together create one Secret and converge on one CA', async () => {
    const ca = await storedCa(namespace);
    expect(ca.ca).toBe(true);
    for (const replica of replicas) {
      const served = await eventually(async () => {
        const cert = await servedCertificate(replica.port);
        return cert.verify(ca.publicKey) ? cert : undefined;
      }, 'the replica to serve a certificate signed by the stored CA');
      expect(served.subjectAltName).toContain(`DNS:wutong-backup.${namespace}.svc`);
    }
  });

  test('every webhook entry gets the CA as caBundle, and the API server admits pods through it', async () => {
    const ca = await storedCa(namespace);
    await eventually(async () => {
      const config = await admission.readMutatingWebhookConfiguration({ name: configuration });
      const bundles = (config.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString());
      return bundles.length === 2 && bundles.every((b) => b.includes(ca.toString().trim().split('\n')[1] ?? '?')) ? true : undefined;
    }, 'caBundle on both webhook entries');
    const stored = await waitUntilMutating(core, namespace, mysqlPod('through-self-tls'), injected);
    expect(injected(stored)).toBe(true);
  });
});

describe('forced rotation with short lifetimes', () => {
  let namespace: string;
  let replicas: WebhookProcess[] = [];
  const configuration = 'e2e-tls-rotation';

  beforeAll(async () => {
    namespace = await createNamespace(core, 'rotation');
    replicas = await startReplicas(namespace, configuration, 1, {
      CA_VALIDITY: '60s',
      CERT_VALIDITY: '30s',
      TLS_CHECK_INTERVAL: '2s',
      TLS_CA_OVERLAP: '5s',
    });
    await registerWithoutCa(configuration, namespace, replicas);
    await waitUntilMutating(core, namespace, mysqlPod('before-rotation'), injected);
  });
  afterAll(async () => {
    await unregisterWebhook(admission, configuration);
    await Promise.all(replicas.map((r) => r.stop()));
    await deleteNamespace(core, namespace);
  });

  test('pods keep being admitted (failurePolicy Fail) while the serving certificate and the CA rotate', async () => {
    const [replica] = replicas;
    const firstCa = await storedCa(namespace);
    const firstServed = await servedCertificate(replica!.port);
    const deadline = Date.now() + 60_000;
    let created = 0;
    while (Date.now() < deadline) {
      const stored = await core.createNamespacedPod({ namespace, body: mysqlPod(`during-rotation-${created}`) });
      expect(injected(stored)).toBe(true);
      created++;
      const rotated = replica!.logs.some((l) => l.msg === 'CA rotation finished: old CA removed from caBundle');
      if (rotated && created > 10) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(replica!.logs.some((l) => String(l.msg).startsWith('renewed the serving certificate'))).toBe(true);
    expect(replica!.logs.some((l) => l.msg === 'CA rotation finished: old CA removed from caBundle')).toBe(true);
    const lastCa = await storedCa(namespace);
    expect(lastCa.fingerprint256).not.toBe(firstCa.fingerprint256);
    const lastServed = await servedCertificate(replica!.port);
    expect(lastServed.fingerprint256).not.toBe(firstServed.fingerprint256);
    expect(lastServed.verify(lastCa.publicKey)).toBe(true);
  });
});
