import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { Watch, type AdmissionregistrationV1Api, type CoreV1Api, type V1MutatingWebhookConfiguration, type V1Pod } from '@kubernetes/client-node';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { freePort, startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';
import { unregisterWebhook, webhookEntry } from './support/webhook-registration.js';
import { eventually } from './support/wait.js';

// Bootstrap of TLS_SOURCE=self under failurePolicy Fail, the way a rollout
// starts it: two replicas at once, the MutatingWebhookConfiguration already
// applied (no caBundle yet), one Service in front (here a loopback TCP proxy
// spreading connections over the replicas that listen), pods being created
// all along.
jest.setTimeout(240_000);

const SECRET = 'wutong-backup-tls';
const ROUNDS = 3;
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

const caFingerprints = (bundlePem: string): string[] =>
  (bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);

const bundleOf = (config: V1MutatingWebhookConfiguration): string => Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');

async function committedCa(namespace: string): Promise<string> {
  const secret = await core.readNamespacedSecret({ name: SECRET, namespace });
  return new X509Certificate(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64')).fingerprint256;
}

interface Attempt {
  startedAt: number;
  ok: boolean;
  error?: string;
}

/** Creates (dry-run) pods one after the other until stopped; every attempt is recorded. */
function createPodsContinuously(namespace: string): { stop(): Promise<Attempt[]> } {
  const attempts: Attempt[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const startedAt = Date.now();
      try {
        const stored = await core.createNamespacedPod({ namespace, body: mysqlPod(`race-${i}`), dryRun: 'All' });
        attempts.push({ startedAt, ok: injected(stored), ...(injected(stored) ? {} : { error: 'admitted without mutation' }) });
      } catch (err) {
        const body = (err as { body?: unknown }).body;
        attempts.push({ startedAt, ok: false, error: (typeof body === 'string' ? body : (err as Error).message).slice(0, 300) });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return attempts;
    },
  };
}

/** Every caBundle the configuration ever held, from a watch (so no version is missed between polls). */
async function watchBundles(name: string): Promise<{ bundles: string[]; stop(): void }> {
  const bundles: string[] = [];
  const controller = await new Watch(adminKubeConfig()).watch(
    '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    { fieldSelector: `metadata.name=${name}` },
    (_type, object: V1MutatingWebhookConfiguration) => {
      const bundle = bundleOf(object);
      if (bundle !== '' && bundles.at(-1) !== bundle) bundles.push(bundle);
    },
    () => undefined,
  );
  return { bundles, stop: () => controller.abort() };
}

beforeAll(() => {
  ({ core, admission } = clients());
});

interface Deployment {
  namespace: string;
  configuration: string;
  replicas: WebhookProcess[];
  service: TcpProxy;
}

/** Applies the configuration (no caBundle), calls beforeReplicas, then starts both replicas at once. */
async function deploy(round: number, beforeReplicas: (namespace: string, configuration: string) => Promise<void>): Promise<Deployment> {
  const namespace = await createNamespace(core, `ca-race-${round}`);
  const configuration = `e2e-ca-race-${process.pid}-${round}`;
  const ports = [await freePort(), await freePort()];
  const service = await startTcpProxy(() => ports);
  const entry = webhookEntry({ name: configuration, namespace, url: `https://127.0.0.1:${service.port}`, caPem: '', failurePolicy: 'Fail', timeoutSeconds: 5 });
  delete entry.clientConfig.caBundle;
  await admission.createMutatingWebhookConfiguration({ body: { metadata: { name: configuration }, webhooks: [entry] } });
  await beforeReplicas(namespace, configuration);
  const replicas = await Promise.all(
    ports.map((port) =>
      startWebhookProcess({
        KUBECONFIG: clusterInfo().kubeconfigPath,
        POD_NAMESPACE: namespace,
        PORT: String(port),
        TLS_SOURCE: 'self',
        WEBHOOK_CONFIGURATION_NAME: configuration,
      }),
    ),
  );
  return { namespace, configuration, replicas, service };
}

async function teardown(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  await unregisterWebhook(admission, d.configuration);
  await Promise.all(d.replicas.map((r) => r.stop()));
  await d.service.close();
  await deleteNamespace(core, d.namespace);
}

test(`two replicas bootstrapping at once under failurePolicy Fail: only the committed CA ever reaches caBundle, and no pod is rejected once admission works (${ROUNDS} rounds)`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    let deployment: Deployment | undefined;
    let watch: { bundles: string[]; stop(): void } | undefined;
    let pods: { stop(): Promise<Attempt[]> } | undefined;
    try {
      deployment = await deploy(round, async (namespace, configuration) => {
        watch = await watchBundles(configuration);
        pods = createPodsContinuously(namespace);
      });
      // Both replicas serve; keep creating pods a while longer.
      await new Promise((r) => setTimeout(r, 5_000));
      const attempts = (await pods?.stop()) ?? [];
      watch?.stop();

      const committed = await committedCa(deployment.namespace);
      const seen = [...new Set((watch?.bundles ?? []).flatMap(caFingerprints))];
      expect(seen).toEqual([committed]);

      // The window opens with the first pod admitted through the webhook: from
      // then on the API server has a caBundle and a replica serves behind the Service.
      const opened = attempts.find((a) => a.ok)?.startedAt;
      expect(opened).toBeDefined();
      const inWindow = attempts.filter((a) => a.startedAt >= (opened ?? Infinity));
      const rejected = inWindow.filter((a) => !a.ok);
      console.log(`round ${round}: ${attempts.length} pod creations, ${inWindow.length} after the first admission, ${rejected.length} rejected; caBundle versions seen: ${watch?.bundles.length}`);
      expect(inWindow.length).toBeGreaterThanOrEqual(20);
      expect(rejected).toEqual([]);
    } finally {
      watch?.stop();
      await pods?.stop();
      await teardown(deployment);
    }
  }
});

describe('a caBundle emptied by someone else', () => {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await deploy(ROUNDS, () => Promise.resolve());
  });
  afterAll(async () => {
    await teardown(deployment);
  });

  test('is restored within one reload interval (10 s by default) and admission works again', async () => {
    const d = deployment!;
    const committed = await committedCa(d.namespace);
    await eventually(async () => (caFingerprints(bundleOf(await admission.readMutatingWebhookConfiguration({ name: d.configuration }))).includes(committed) ? true : undefined), 'the CA in caBundle');
    await admission.patchMutatingWebhookConfiguration({ name: d.configuration, body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: '' }] });
    const emptiedAt = Date.now();
    await eventually(
      async () => (caFingerprints(bundleOf(await admission.readMutatingWebhookConfiguration({ name: d.configuration }))).includes(committed) ? true : undefined),
      'caBundle restored',
      20_000,
      100,
    );
    const restoredMs = Date.now() - emptiedAt;
    console.log(`caBundle restored ${restoredMs} ms after it was emptied`);
    expect(restoredMs).toBeLessThan(15_000);
    const stored = await eventually(async () => {
      const pod = await core.createNamespacedPod({ namespace: d.namespace, body: mysqlPod('after-restore'), dryRun: 'All' });
      return injected(pod) ? pod : undefined;
    }, 'a pod admitted through the restored caBundle');
    expect(injected(stored)).toBe(true);
  });
});
