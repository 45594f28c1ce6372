import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { Watch, type AdmissionregistrationV1Api, type CoreV1Api, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { adminKubeConfig, clients, createNamespace, deleteNamespace } from './support/kube.js';
import { installShipped, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import { hooksInjected, mysqlPod } from './support/pods.js';
import { eventually } from './support/wait.js';

// Bootstrap of TLS_SOURCE=self under failurePolicy Fail, the way a rollout
// starts it: the fail-closed overlay applied (its MutatingWebhookConfiguration
// has no caBundle yet), two replicas at once as the ServiceAccount, the
// Service stand-in in front (each replica joins it once it serves), pods being
// created all along.
jest.setTimeout(240_000);

const ROUNDS = 3;
let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;


const caFingerprints = (bundlePem: string): string[] =>
  (bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);

const bundleOf = (config: V1MutatingWebhookConfiguration): string => Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');


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
        attempts.push({ startedAt, ok: hooksInjected(stored), ...(hooksInjected(stored) ? {} : { error: 'admitted without mutation' }) });
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
  /** Where the test creates its pods. */
  namespace: string;
  install: ShippedInstall;
}

const configuration = SHIPPED.webhookConfiguration;

/** Installs the fail-closed overlay, calls beforeReplicas, then starts both replicas at once. */
async function deploy(round: number, beforeReplicas: (namespace: string) => Promise<void>): Promise<Deployment> {
  const install = await installShipped('overlays/fail-closed');
  let namespace: string | undefined;
  try {
    namespace = await createNamespace(core, `ca-race-${round}`);
    await beforeReplicas(namespace);
    await install.startReplicas(2);
    return { namespace, install };
  } catch (err) {
    await install.uninstall();
    if (namespace) await deleteNamespace(core, namespace);
    throw err;
  }
}

async function teardown(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  await d.install.uninstall();
  await deleteNamespace(core, d.namespace);
}

const committedCa = async (d: Deployment): Promise<string> => (await d.install.storedCa()).fingerprint256;
test(`two replicas bootstrapping at once under failurePolicy Fail: only the committed CA ever reaches caBundle, and no pod is rejected once admission works (${ROUNDS} rounds)`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    let deployment: Deployment | undefined;
    let watch: { bundles: string[]; stop(): void } | undefined;
    let pods: { stop(): Promise<Attempt[]> } | undefined;
    try {
      deployment = await deploy(round, async (namespace) => {
        watch = await watchBundles(configuration);
        pods = createPodsContinuously(namespace);
      });
      // Both replicas serve; keep creating pods a while longer.
      await new Promise((r) => setTimeout(r, 5_000));
      const attempts = (await pods?.stop()) ?? [];
      watch?.stop();

      const committed = await committedCa(deployment);
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
    const committed = await committedCa(d);
    await eventually(async () => (caFingerprints(bundleOf(await admission.readMutatingWebhookConfiguration({ name: configuration }))).includes(committed) ? true : undefined), 'the CA in caBundle');
    await admission.patchMutatingWebhookConfiguration({ name: configuration, body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: '' }] });
    const emptiedAt = Date.now();
    await eventually(
      async () => (caFingerprints(bundleOf(await admission.readMutatingWebhookConfiguration({ name: configuration }))).includes(committed) ? true : undefined),
      'caBundle restored',
      20_000,
      100,
    );
    const restoredMs = Date.now() - emptiedAt;
    console.log(`caBundle restored ${restoredMs} ms after it was emptied`);
    expect(restoredMs).toBeLessThan(15_000);
    const stored = await eventually(async () => {
      const pod = await core.createNamespacedPod({ namespace: d.namespace, body: mysqlPod('after-restore'), dryRun: 'All' });
      return hooksInjected(pod) ? pod : undefined;
    }, 'a pod admitted through the restored caBundle');
    expect(hooksInjected(stored)).toBe(true);
  });
});
