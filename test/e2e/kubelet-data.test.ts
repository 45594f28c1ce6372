import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { AppsV1Api, type CoreV1Api, type V1Container, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { apiStatus } from '../../src/kube/api-error.js';
import { HOLDER_COMMAND } from '../../src/holder/holder-pod.js';
import { databaseSuite } from '../integration/profiles/database-tools.js';
import { startDataNode, type DataNode } from './support/data-node.js';
import { adminKubeConfig, clients, createNamespace, deleteNamespace } from './support/kube.js';
import { ANN_PROVISIONED_BY, ANN_STORAGE_PROVISIONER, STAND_IN_PROVISIONER } from './support/local-provisioner-stand-in.js';
import { ExecUnavailable } from './support/node-runtime.js';
import { PLUGIN_DIR } from './support/pod-volumes.js';
import { eventually } from './support/wait.js';

// The data-bearing node: the kubelet stand-in running pods for real, by the
// rules of kubernetes v1.20 (pkg/kubelet/volumemanager/populator/
// desired_state_of_world_populator.go getPVCExtractPV L637-667 for volumes,
// kuberuntime_manager.go computePodActions for init containers,
// kubelet_pods.go getPhase for status), the local provisioner stand-in with
// kube-controller-manager's real PV controller (pv_controller.go
// provisionClaimOperationExternal; sig-storage-lib-external-provisioner v6
// shouldProvision/shouldDelete), and the images it runs as processes: the
// docker-library MariaDB and PostgreSQL entrypoints on Debian's servers,
// Velero v1.11.1's velero-restore-helper, this project's image.

jest.setTimeout(120_000);

const suite = databaseSuite(['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin', 'initdb', 'postgres', 'psql', 'pg_isready']);
const NODE = `data-node-${process.pid}`;
const PROJECT_IMAGE = 'wutong-backup:0.1.0';

suite('the data-bearing node', () => {
  let core: CoreV1Api;
  let namespace: string;
  let node: DataNode;

  beforeAll(async () => {
    ({ core } = clients());
    namespace = await createNamespace(core, 'kdata', { tenant: false });
    node = await startDataNode(NODE);
  });
  afterAll(async () => {
    // KEEP_DATA_NODE=1 keeps the node's root (container logs under logs/) for a look after a failure.
    await node?.stop({ keepRoot: process.env.KEEP_DATA_NODE === '1' });
    await deleteNamespace(core, namespace);
  });

  const podOnNode = (name: string, spec: Partial<V1PodSpec> & { containers: V1Container[] }): V1Pod => ({
    metadata: { name },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...spec },
  });
  const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ namespace, name });
  const podUid = async (name: string): Promise<string> => (await readPod(name)).metadata?.uid ?? '';
  const ref = async (name: string): Promise<{ namespace: string; name: string; uid: string }> => ({ namespace, name, uid: await podUid(name) });
  const whenReady = (name: string, timeoutMs = 60_000): Promise<V1Pod> =>
    eventually(async () => {
      const pod = await readPod(name);
      return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod : undefined;
    }, `pod ${name} to be Ready`, timeoutMs, 250);
  const gone = (name: string): Promise<true> =>
    eventually(async () => {
      try {
        await readPod(name);
        return undefined;
      } catch (err) {
        return apiStatus(err) === 404 ? true : undefined;
      }
    }, `pod ${name} to be gone`, 30_000);
  const claim = (name: string, storageClassName: string, volumeName?: string) =>
    core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: '1Gi' } }, ...(volumeName ? { volumeName } : {}) },
      },
    });
  const boundVolume = (name: string): Promise<string> =>
    eventually(async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name });
      return pvc.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
    }, `claim ${name} to be Bound`, 30_000);
  const pidOf = (pod: V1Pod, container: string): number =>
    Number((pod.status?.containerStatuses ?? []).find((c) => c.name === container)?.containerID?.replace('stand-in://', '') ?? NaN);
  const processAlive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const holdContainer = (name: string, mounts: { name: string; mountPath: string }[]): V1Container => ({
    name,
    image: PROJECT_IMAGE,
    command: [...HOLDER_COMMAND],
    volumeMounts: mounts,
  });

  test('a pod whose claim is missing or unbound is not started: Pending, containers waiting; it starts once the claim is bound (desired_state_of_world_populator.go L637-667)', async () => {
    await core.createNamespacedPod({ namespace, body: podOnNode('no-claim', { containers: [{ name: 'app', image: 'nginx:1.25', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'missing' } }] }) });
    await claim('unbound', 'no-such-class');
    await core.createNamespacedPod({ namespace, body: podOnNode('unbound-claim', { containers: [{ name: 'app', image: 'nginx:1.25', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'unbound' } }] }) });
    for (const [name, why] of [['no-claim', 'failed to fetch PVC'], ['unbound-claim', 'is not bound']] as const) {
      const pod = await eventually(async () => {
        const p = await readPod(name);
        return p.status?.message?.includes(why) ? p : undefined;
      }, `pod ${name} to say why it waits`);
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    }
    // The claim appears, bound to a static local PV of this node: the kubelet retries and the pod starts.
    const pv = await node.createLocalPv(`local-${process.pid}`, { claim: { namespace, name: 'missing' } });
    await claim('missing', '', pv.name);
    const running = await whenReady('no-claim');
    expect(running.status?.phase).toBe('Running');
    const uid = running.metadata?.uid ?? '';
    expect(node.runtime.volumeDir(uid, 'data')).toBe(pv.path);
    const link = join(node.root, 'pods', uid, 'volumes', PLUGIN_DIR.local, pv.name);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(pv.path);
    expect((await readPod('unbound-claim')).status?.phase).toBe('Pending');
  });

  test('a hostPath PV is mounted at its path; exec into a container the node runs no process for is refused', async () => {
    const pv = await node.createHostPathPv(`host-${process.pid}`, { claim: { namespace, name: 'host-claim' } });
    await claim('host-claim', '', pv.name);
    await core.createNamespacedPod({ namespace, body: podOnNode('host-user', { containers: [{ name: 'app', image: 'nginx:1.25' }], volumes: [{ name: 'h', persistentVolumeClaim: { claimName: 'host-claim' } }] }) });
    const pod = await whenReady('host-user');
    expect(node.runtime.volumeDir(pod.metadata?.uid ?? '', 'h')).toBe(pv.path);
    await expect(node.runtime.exec(await ref('host-user'), 'app', ['true'], 5_000)).rejects.toBeInstanceOf(ExecUnavailable);
  });

  test('a StatefulSet claim of the stand-in StorageClass gets a provisioned PV directory; a file written through exec lands in it', async () => {
    const storageClassName = await node.storageClass('Delete');
    const apps = adminKubeConfig().makeApiClient(AppsV1Api);
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          serviceName: 'web',
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { terminationGracePeriodSeconds: 5, containers: [holdContainer('holder', [{ name: 'data', mountPath: '/data' }])] },
          },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    });
    node.kubelet.runPods(namespace, 'app=web');
    const pod = await whenReady('web-0');
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data-web-0' });
    expect(pvc.metadata?.annotations?.[ANN_STORAGE_PROVISIONER]).toBe(STAND_IN_PROVISIONER);
    const pv = await core.readPersistentVolume({ name: pvc.spec?.volumeName ?? '' });
    expect(pv.metadata?.name).toBe(`pvc-${pvc.metadata?.uid ?? ''}`);
    expect(pv.metadata?.annotations?.[ANN_PROVISIONED_BY]).toBe(STAND_IN_PROVISIONER);
    expect(pv.spec?.claimRef?.uid).toBe(pvc.metadata?.uid);
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    const dir = pv.spec?.local?.path ?? '';
    expect(node.runtime.volumeDir(pod.metadata?.uid ?? '', 'data')).toBe(dir);
    // The project image runs its real `hold` as its distroless user; exec runs as that user too.
    const written = await node.runtime.exec(await ref('web-0'), 'holder', ['/bin/sh', '-c', 'id -u > /data/who && echo hello > /data/hello.txt && echo done'], 10_000);
    expect(written).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'done\n' });
    expect(readFileSync(join(dir, 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(dir, 'who'), 'utf8')).toBe('65532\n');
    const slow = await node.runtime.exec(await ref('web-0'), 'holder', ['sleep', '30'], 500);
    expect(slow).toMatchObject({ exitCode: undefined, timedOut: true });
  });

  test('init containers run in order, each to exit 0 first (a failed one is restarted); the app container starts after them', async () => {
    const step = (name: string, script: string): V1Container => ({
      name,
      image: PROJECT_IMAGE,
      command: ['/nodejs/bin/node', '-e', script],
      volumeMounts: [{ name: 'work', mountPath: '/work' }],
    });
    const append = (word: string): string => `require('fs').appendFileSync('/work/order', '${word}\\n');`;
    await core.createNamespacedPod({
      namespace,
      body: podOnNode('ordered', {
        initContainers: [
          step('first', `${append('first')} setTimeout(() => {}, 2500);`),
          // Fails on its first run, succeeds when restarted (restartPolicy Always: init containers are restarted).
          step('second', `const fs = require('fs'); ${append('second')} if (!fs.existsSync('/work/tried')) { fs.writeFileSync('/work/tried', ''); process.exit(3); }`),
        ],
        containers: [step('app', `${append('app')} setInterval(() => {}, 1000);`)],
        volumes: [{ name: 'work', emptyDir: {} }],
      }),
    });
    const whileFirst = await eventually(async () => {
      const pod = await readPod('ordered');
      return pod.status?.initContainerStatuses?.[0]?.state?.running ? pod : undefined;
    }, 'the first init container to run');
    expect(whileFirst.status?.phase).toBe('Pending');
    expect(whileFirst.status?.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
    expect(whileFirst.status?.initContainerStatuses?.[1]?.state?.waiting?.reason).toBe('PodInitializing');
    expect(whileFirst.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    const ready = await whenReady('ordered');
    expect(ready.status?.phase).toBe('Running');
    expect(ready.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    const [first, second] = ready.status?.initContainerStatuses ?? [];
    expect(first?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(second?.restartCount).toBe(1);
    expect(second?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(second?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(ready.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    const work = node.runtime.volumeDir(ready.metadata?.uid ?? '', 'work') ?? '';
    expect(work).toBe(join(node.root, 'pods', ready.metadata?.uid ?? '', 'volumes', PLUGIN_DIR.emptyDir, 'work'));
    // No readinessProbe: the app is Ready once started, which can be a moment before its first line runs.
    const order = await eventually(() => {
      const text = readFileSync(join(work, 'order'), 'utf8');
      return Promise.resolve(text.endsWith('app\n') ? text : undefined);
    }, 'the app container to write');
    expect(order).toBe('first\nsecond\nsecond\napp\n');
  });

  test('a pod IP is reachable as in a real cluster: a server in the project image bound to POD_IP (downward API status.podIP) answers there, pods get distinct IPs', async () => {
    const server = (name: string): Promise<V1Pod> =>
      core.createNamespacedPod({
        namespace,
        body: podOnNode(name, {
          containers: [
            {
              name: 'serve',
              image: PROJECT_IMAGE,
              command: ['/nodejs/bin/node', '-e', `require('http').createServer((q, r) => r.end('${name} on ' + process.env.POD_IP)).listen(8080, process.env.POD_IP)`],
              env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            },
          ],
        }),
      });
    await server('ip-a');
    await server('ip-b');
    const [a, b] = [await whenReady('ip-a'), await whenReady('ip-b')];
    const ipA = a.status?.podIP ?? '';
    expect(ipA).toMatch(/^127\./);
    expect(b.status?.podIP).not.toBe(ipA);
    const answer = await eventually(async () => {
      try {
        const response = await fetch(`http://${ipA}:8080/`);
        return await response.text();
      } catch {
        return undefined;
      }
    }, 'the server on the pod IP to answer');
    expect(answer).toBe(`ip-a on ${ipA}`);
  });

  test("Velero's restore-wait init container waits for every volume's .velero/<restore uid> file, then tries to remove them as its image's user, nonroot 65532, and cannot: the node agent (root) made them (velero-restore-helper.go v1.11.1 L39-45, L83-104; Dockerfile L77; velero#8973); as root it can", async () => {
    const restoreUid = '0c2f4a9e-restore';
    const restoreWait = (runAsUser?: number): Parameters<typeof podOnNode>[1] => ({
      initContainers: [{
        name: 'restore-wait',
        image: 'velero/velero:v1.11.1',
        command: ['/velero-restore-helper'],
        args: [restoreUid],
        ...(runAsUser !== undefined ? { securityContext: { runAsUser } } : {}),
        volumeMounts: [{ name: 'a', mountPath: '/restores/a' }],
      }],
      containers: [{ name: 'app', image: 'nginx:1.25' }],
      volumes: [{ name: 'a', emptyDir: {} }],
    });
    // Velero's plugin ConfigMap (secCtxRunAsUser "0", pod_volume_restore_action.go L143-152) is how a user makes it root.
    for (const [name, runAsUser, left] of [['as-nonroot', undefined, true], ['as-root', 0, false]] as const) {
      await core.createNamespacedPod({ namespace, body: podOnNode(name, restoreWait(runAsUser)) });
      await eventually(async () => ((await readPod(name)).status?.initContainerStatuses?.[0]?.state?.running ? true : undefined), `${name} restore-wait to run`);
      const dir = node.runtime.volumeDir(await podUid(name), 'a') ?? '';
      mkdirSync(join(dir, '.velero'), { mode: 0o755 });
      writeFileSync(join(dir, '.velero', restoreUid), '', { mode: 0o644 });
      const done = await whenReady(name, 15_000);
      expect(done.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect([name, existsSync(join(dir, '.velero', restoreUid))]).toEqual([name, left]);
    }
  });

  test("Velero's restore-wait init container waits for every volume's .velero/<restore uid> file (velero-restore-helper.go v1.11.1)", async () => {
    const restoreUid = '0c2f4a9e-restore';
    await core.createNamespacedPod({
      namespace,
      body: podOnNode('restored', {
        // As Velero v1.11.1 pkg/restore/pod_volume_restore_action.go makes it (L151-161, L290-312): first init container,
        // command /velero-restore-helper, the restore's uid as its argument, each restored volume at /restores/<volume>.
        initContainers: [{
          name: 'restore-wait',
          image: 'velero/velero:v1.11.1',
          command: ['/velero-restore-helper'],
          args: [restoreUid],
          env: [
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          volumeMounts: [{ name: 'a', mountPath: '/restores/a' }, { name: 'b', mountPath: '/restores/b' }],
        }],
        containers: [{ name: 'app', image: 'nginx:1.25' }],
        volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', emptyDir: {} }],
      }),
    });
    await eventually(async () => ((await readPod('restored')).status?.initContainerStatuses?.[0]?.state?.running ? true : undefined), 'restore-wait to run');
    const uid = await podUid('restored');
    const doneFile = (volume: string): string => join(node.runtime.volumeDir(uid, volume) ?? '', '.velero', restoreUid);
    mkdirSync(join(node.runtime.volumeDir(uid, 'a') ?? '', '.velero'));
    writeFileSync(doneFile('a'), '');
    await new Promise((r) => setTimeout(r, 2_500));
    const waiting = await readPod('restored');
    expect(waiting.status?.phase).toBe('Pending');
    expect(waiting.status?.initContainerStatuses?.[0]?.state?.running).toBeDefined();
    mkdirSync(join(node.runtime.volumeDir(uid, 'b') ?? '', '.velero'));
    writeFileSync(doneFile('b'), '');
    const ready = await whenReady('restored', 15_000);
    expect(ready.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  test('the provisioner deletes a Delete-policy volume and its directory once its claim is gone, and keeps a Retain one', async () => {
    const deleting = await node.storageClass('Delete');
    const retaining = await node.storageClass('Retain');
    await claim('scratch', deleting);
    await claim('keep', retaining);
    const scratchPv = await core.readPersistentVolume({ name: await boundVolume('scratch') });
    const keepPv = await core.readPersistentVolume({ name: await boundVolume('keep') });
    const scratchDir = scratchPv.spec?.local?.path ?? '';
    const keepDir = keepPv.spec?.local?.path ?? '';
    expect(existsSync(scratchDir) && existsSync(keepDir)).toBe(true);
    await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: 'scratch' });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: 'keep' });
    await eventually(async () => {
      try {
        await core.readPersistentVolume({ name: scratchPv.metadata?.name ?? '' });
        return undefined;
      } catch (err) {
        return apiStatus(err) === 404 ? true : undefined;
      }
    }, 'the Delete volume to go', 30_000);
    expect(existsSync(scratchDir)).toBe(false);
    const kept = await eventually(async () => {
      const pv = await core.readPersistentVolume({ name: keepPv.metadata?.name ?? '' });
      return pv.status?.phase === 'Released' ? pv : undefined;
    }, 'the Retain volume to be Released');
    expect(kept.metadata?.deletionTimestamp).toBeUndefined();
    expect(existsSync(keepDir)).toBe(true);
  });

  test('MariaDB initialises an empty volume, a write through exec lands on it, a grace-0 delete kills the server, and a new pod on the claim recovers the rows', async () => {
    const storageClassName = await node.storageClass('Delete');
    await claim('mariadb-data', storageClassName);
    const password = `pa'ss w\\rd`;
    const dbPod = (name: string): V1Pod =>
      podOnNode(name, {
        containers: [{ name: 'db', image: 'mariadb:11.4', env: [{ name: 'MARIADB_ROOT_PASSWORD', value: password }], volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'mariadb-data' } }],
      });
    const sql = async (pod: string, statement: string) => node.runtime.exec(await ref(pod), 'db', ['mariadb', '-uroot', `-p${password}`, '-N', '-B', '-e', statement], 30_000);
    await core.createNamespacedPod({ namespace, body: dbPod('mariadb-1') });
    await whenReady('mariadb-1', 90_000);
    // The image's entrypoint initialises through a temporary server on the same socket, which answers the
    // readiness ping too (as a real readinessProbe's would): the server is up for good once root's password works.
    const accepting = async (pod: string): Promise<void> => {
      await eventually(async () => ((await sql(pod, 'SELECT 1')).exitCode === 0 ? true : undefined), `MariaDB in ${pod} to accept root's password`, 60_000, 500);
    };
    await accepting('mariadb-1');
    const first = await readPod('mariadb-1');
    const dir = node.runtime.volumeDir(first.metadata?.uid ?? '', 'data') ?? '';
    expect(existsSync(join(dir, 'mysql'))).toBe(true);
    expect(await sql('mariadb-1', 'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item TEXT) ENGINE=InnoDB; INSERT INTO shop.orders VALUES (1, "tea"), (2, "cake")')).toMatchObject({ exitCode: 0, stderr: '' });
    expect(readdirSync(join(dir, 'shop'))).toContain('orders.ibd');
    const pid = pidOf(first, 'db');
    expect(processAlive(pid)).toBe(true);
    // Wutong's stop: delete with grace 0. The API server removes the pod at once; the kubelet SIGKILLs its containers.
    await core.deleteNamespacedPod({ namespace, name: 'mariadb-1', gracePeriodSeconds: 0 });
    await eventually(() => Promise.resolve(processAlive(pid) ? undefined : true), 'mariadbd to be killed', 10_000);
    await core.createNamespacedPod({ namespace, body: dbPod('mariadb-2') });
    await whenReady('mariadb-2', 90_000);
    await accepting('mariadb-2');
    expect(await sql('mariadb-2', 'SELECT id, item FROM shop.orders ORDER BY id')).toMatchObject({ exitCode: 0, stdout: '1\ttea\n2\tcake\n' });
  });

  test('PostgreSQL initialises an empty PGDATA as user postgres; rows written through exec survive a SIGKILL and a new pod', async () => {
    const storageClassName = await node.storageClass('Delete');
    await claim('pg-data', storageClassName);
    const pgPod = (name: string): V1Pod =>
      podOnNode(name, {
        containers: [{ name: 'db', image: 'postgres:15', env: [{ name: 'POSTGRES_PASSWORD', value: 'secret' }], volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'pg-data' } }],
      });
    const psql = async (pod: string, statement: string) => node.runtime.exec(await ref(pod), 'db', ['psql', '-U', 'postgres', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', statement], 30_000);
    await core.createNamespacedPod({ namespace, body: pgPod('pg-1') });
    const first = await whenReady('pg-1', 90_000);
    const dir = node.runtime.volumeDir(first.metadata?.uid ?? '', 'data') ?? '';
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    expect(await psql('pg-1', 'CREATE TABLE notes (id int primary key, body text); INSERT INTO notes VALUES (1, $$kept$$)')).toMatchObject({ exitCode: 0 });
    const pid = pidOf(first, 'db');
    await core.deleteNamespacedPod({ namespace, name: 'pg-1', gracePeriodSeconds: 0 });
    await eventually(() => Promise.resolve(processAlive(pid) ? undefined : true), 'postgres to be killed', 10_000);
    await core.createNamespacedPod({ namespace, body: pgPod('pg-2') });
    await whenReady('pg-2', 90_000);
    expect(await psql('pg-2', 'SELECT body FROM notes')).toMatchObject({ exitCode: 0, stdout: 'kept\n' });
  });

  test('a graceful delete SIGTERMs the processes and the kubelet completes the deletion once they stopped', async () => {
    await core.createNamespacedPod({ namespace, body: podOnNode('graceful', { containers: [holdContainer('holder', [])] }) });
    const pod = await whenReady('graceful');
    const pid = pidOf(pod, 'holder');
    expect(processAlive(pid)).toBe(true);
    await core.deleteNamespacedPod({ namespace, name: 'graceful', gracePeriodSeconds: 30 });
    // `hold` exits on SIGTERM at once: the pod goes well before its 30 s grace period.
    const started = Date.now();
    await gone('graceful');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(join(node.root, 'pods', pod.metadata?.uid ?? ''))).toBe(false);
  });
});
