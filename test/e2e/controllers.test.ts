import { jest } from '@jest/globals';
import { AppsV1Api, type CoreV1Api } from '@kubernetes/client-node';
import { apiStatus } from '../../src/kube/api-error.js';
import { waitForServiceAccountToken } from './cluster/cluster.js';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './support/kubelet-stand-in.js';
import { wutongMysqlPod } from './support/pods.js';
import { installShipped, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(180_000);

let core: CoreV1Api;
let apps: AppsV1Api;

const gone = (read: () => Promise<unknown>) => async (): Promise<true | undefined> => {
  try {
    await read();
    return undefined;
  } catch (err) {
    return apiStatus(err) === 404 ? true : undefined;
  }
};

beforeAll(() => {
  ({ core } = clients());
  apps = adminKubeConfig().makeApiClient(AppsV1Api);
});

describe('the controller-manager runs like in a cluster', () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = await createNamespace(core, 'controllers');
  });
  afterAll(() => deleteNamespace(core, namespace));

  test('a new ServiceAccount gets a token Secret', async () => {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'app' } } });
    const token = await waitForServiceAccountToken(clusterInfo(), namespace, 'app');
    expect(token.split('.')).toHaveLength(3); // a signed JWT
  });

  test('deleting an owner garbage-collects its dependents (ownerReferences cascade)', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }] } },
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });
    await eventually(gone(() => core.readNamespacedConfigMap({ namespace, name: 'dependent' })), 'the dependent to be collected', 60_000);
  });

  test('a deleted namespace goes away', async () => {
    const doomed = await createNamespace(core, 'doomed');
    await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: 'content' } } });
    await core.deleteNamespace({ name: doomed });
    await eventually(gone(() => core.readNamespace({ name: doomed })), 'the namespace to be finalized', 90_000, 500);
  });
});

describe('workloads through the installed webhook', () => {
  let namespace: string;
  let install: ShippedInstall;
  let kubelet: KubeletStandIn;

  beforeAll(async () => {
    install = await installShipped('base');
    await install.startReplicas(1);
    namespace = await createNamespace(core, 'workloads');
    kubelet = await startKubeletStandIn(`node-${process.pid}`);
    kubelet.runPods(namespace, 'app=orders-db');
    await waitUntilMutating(core, namespace, wutongMysqlPod('probe'), (p) => Boolean(p.metadata?.annotations?.['pre.hook.backup.velero.io/container']));
  });
  afterAll(async () => {
    await kubelet?.stop();
    await install?.uninstall();
    await deleteNamespace(core, namespace);
  });

  test('a StatefulSet creates its pods one by one through the webhook, each with its hooks', async () => {
    const template = wutongMysqlPod('unused');
    delete template.metadata!.name;
    template.metadata!.labels!.app = 'orders-db';
    template.spec!.volumes = template.spec!.volumes!.filter((v) => v.name !== 'data');
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'orders-db' },
        spec: {
          serviceName: 'orders-db',
          replicas: 2,
          selector: { matchLabels: { app: 'orders-db' } },
          template,
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    });
    // OrderedReady: pod 1 exists only once the stand-in kubelet reported pod 0 Ready.
    const pods = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=orders-db' });
      return list.items.length === 2 && list.items.every((p) => p.status?.phase === 'Running') ? list.items : undefined;
    }, 'two Running StatefulSet pods', 90_000);
    for (const pod of pods) {
      expect(pod.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBe('data');
      expect(pod.metadata?.annotations?.['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
    }
  });

  test('the shipped Deployment’s own pods are created by its controllers but never run', async () => {
    const pods = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: SHIPPED.namespace, labelSelector: 'app.kubernetes.io/name=wutong-backup' });
      return list.items.length >= 2 ? list.items : undefined;
    }, 'the Deployment’s pods', 60_000);
    expect(pods.every((p) => !p.spec?.nodeName && p.status?.phase === 'Pending')).toBe(true);
    expect(pods[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
  });
});
