/**
 * The controller benchmark (`BENCH_ONLY=controller npm run bench`): how long
 * the built server takes to list a large cluster after a start (every
 * replica does it; the elected one then runs the loops), its memory once it
 * holds it all, how long the controller takes to give every protected
 * component its Schedule, and the time from a component stopping (Wutong's
 * way: workload and pods deleted, PVCs kept) to its Schedule being paused.
 *
 * The server runs the controller role (ROLE=controller); the webhook role is
 * started before and after the cluster is filled, to show its memory does not
 * follow the cluster's size.
 *
 * The cluster: COMPONENTS Wutong components (a StatefulSet, a PVC and a pod
 * marked Running, as the kubelet would) spread over NAMESPACES tenant
 * namespaces, and BACKUPS Completed Backups spread over them. The server runs
 * with the test cluster's admin kubeconfig: the benchmark measures the
 * controller, the e2e suite checks its permissions.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../src/components/wutong-labels.js';
import { buildBackup } from '../src/velero/backup-object.js';
import { manualBackupName, scheduleName } from '../src/velero/object-names.js';
import { veleroPath } from '../src/velero/velero-resources.js';
import { installCrds, provision, startCluster, veleroCrdDir, waitForServiceAccountToken } from '../test/e2e/cluster/cluster.js';
import { apiClient, created, get, killIfRunning, startBenchServer, hex, kubeTime, LOAD_CONCURRENCY, memoryMiB, pool, sleep, type Call } from './cluster-kit.js';

const ROOT = process.cwd();
const COMPONENTS = Number(process.env.BENCH_CONTROLLER_COMPONENTS ?? 5_000);
const BACKUPS = Number(process.env.BENCH_CONTROLLER_BACKUPS ?? 100_000);
const NAMESPACES = Number(process.env.BENCH_CONTROLLER_NAMESPACES ?? 50);
const STOPS = Number(process.env.BENCH_CONTROLLER_STOPS ?? 20);
const WAIT_ROUNDS = Number(process.env.BENCH_CONTROLLER_WAIT_SECONDS ?? 900) * 10;
const VELERO_NAMESPACE = 'velero';
const WEBHOOK_NAMESPACE = 'wutong-backup';
// keep 30 over 20 Backups per component: the first pass creates Schedules, and prunes nothing (retention at scale is its own measure).
const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: every-database
    match: { labels: { creator: Wutong }, image: "mysql" }
    backup: { pre: { command: ["/bin/true"] } }
    protection: { schedule: "0 3 * * *", ttl: 30d, keep: 30 }
`;

const log = (m: string): void => void process.stderr.write(`bench:controller: ${m}\n`);

interface Component {
  serviceId: string;
  namespace: string;
  alias: string;
}

function labelsOf(c: Component): Record<string, string> {
  return {
    [WUTONG_LABEL.creator]: WUTONG_CREATOR,
    [WUTONG_LABEL.tenantName]: c.namespace,
    [WUTONG_LABEL.tenantEnvName]: 'prod',
    [WUTONG_LABEL.serviceAlias]: c.alias,
    [WUTONG_LABEL.serviceId]: c.serviceId,
  };
}

/** A running Wutong component: StatefulSet (replicas 0, so the controller-manager makes no pods of its own), PVC, and a pod marked Running. */
async function createComponent(call: Call, c: Component): Promise<void> {
  const labels = labelsOf(c);
  const claim = `manual1-${c.alias}-0`;
  const podSpec = {
    containers: [{ name: 'mysql', image: 'mysql:8.0', volumeMounts: [{ name: 'manual1', mountPath: '/var/lib/mysql' }] }],
    volumes: [{ name: 'manual1', persistentVolumeClaim: { claimName: claim } }],
  };
  await created(call, `/apis/apps/v1/namespaces/${c.namespace}/statefulsets`, {
    metadata: { name: c.alias, labels },
    // A selector the bench's own pod does not carry: the StatefulSet controller would adopt it and, at 0 replicas, delete it.
    spec: { replicas: 0, serviceName: c.alias, selector: { matchLabels: { 'bench-statefulset': c.alias } }, template: { metadata: { labels: { ...labels, 'bench-statefulset': c.alias } }, spec: podSpec } },
  });
  await created(call, `/api/v1/namespaces/${c.namespace}/persistentvolumeclaims`, {
    metadata: { name: claim, labels },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await created(call, `/api/v1/namespaces/${c.namespace}/pods`, { metadata: { name: `${c.alias}-0`, labels }, spec: podSpec });
  // What the kubelet would report once the container runs.
  const status = await call('PATCH', `/api/v1/namespaces/${c.namespace}/pods/${c.alias}-0/status`, { status: { phase: 'Running' } });
  if (status.status !== 200) throw new Error(`pod status: ${status.status} ${status.body.slice(0, 200)}`);
}

function completedBackup(c: Component, startedMs: number): Record<string, unknown> {
  const object = buildBackup({
    name: manualBackupName(c.serviceId, new Date(startedMs), hex(2)),
    veleroNamespace: VELERO_NAMESPACE,
    storageLocation: 'default',
    serviceId: c.serviceId,
    componentNamespace: c.namespace,
    ttl: { label: '720h', spec: '720h0m0s' },
    desc: 'nightly',
    operator: 'admin',
  });
  return {
    ...object,
    status: {
      version: 1,
      phase: 'Completed',
      startTimestamp: kubeTime(startedMs),
      completionTimestamp: kubeTime(startedMs + 95_000),
      expiration: kubeTime(startedMs + 720 * 3_600_000),
      progress: { totalItems: 27, itemsBackedUp: 27 },
    },
  };
}

function metric(metrics: string, name: string, labels: string): number {
  const match = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : Number.NaN;
}

const REVIEWS = Number(process.env.BENCH_WEBHOOK_REVIEWS ?? 5_000);

/** A Wutong mysql pod's admission review, which the bench policy mutates (hooks, labels). */
function podReview(i: number): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'tenant-0-prod',
      object: {
        metadata: { name: `gr${i}-0`, labels: labelsOf({ serviceId: hex(16), namespace: 'tenant-0-prod', alias: `gr${i}` }) },
        spec: {
          containers: [{ name: 'mysql', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-gr${i}-0` } }],
        },
      },
    },
  };
}

interface WebhookFootprint {
  pid: number;
  /** RSS once serving, before any review. */
  idleMiB: number;
  /** RSS right after REVIEWS reviews (48 at a time, keep-alive). */
  loadedMiB: number;
  peakMiB: number;
}

/**
 * The webhook role (ROLE=webhook) started against the cluster as it is now,
 * then REVIEWS pod reviews: issue I's claim is that its memory does not grow
 * with the cluster, because it lists nothing of it.
 */
async function webhookRoleFootprint(kubeconfigPath: string, work: string): Promise<WebhookFootprint & { stop: () => void }> {
  mkdirSync(work, { recursive: true });
  const { child, port } = await startBenchServer(kubeconfigPath, work, WEBHOOK_NAMESPACE, { ROLE: 'webhook' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the webhook role did not start');
  const ca = (): string => readFileSync(join(work, 'ca.crt'), 'utf8');
  for (let i = 0; (await get(`https://127.0.0.1:${port}/readyz`, ca())).status !== 200; i++) {
    if (child.exitCode !== null || i > 600) throw new Error('the webhook role never became ready');
    await sleep(100);
  }
  await sleep(2_000);
  const idleMiB = memoryMiB(pid).rss;
  const post = apiClient(`https://127.0.0.1:${port}`, ca(), 'unused');
  let patched = 0;
  await pool(REVIEWS, LOAD_CONCURRENCY, async (i) => {
    const reply = await post('POST', '/mutate', podReview(i));
    if (reply.status !== 200) throw new Error(`review ${i}: ${reply.status} ${reply.body.slice(0, 200)}`);
    if (reply.body.includes('"patch"')) patched++;
  });
  if (patched !== REVIEWS) throw new Error(`only ${patched} of ${REVIEWS} reviews were mutated: the policy did not apply`);
  const { rss: loadedMiB, hwm: peakMiB } = memoryMiB(pid);
  return { pid, idleMiB, loadedMiB, peakMiB, stop: () => child.kill('SIGTERM') };
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

async function main(): Promise<void> {
  await provision();
  const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cluster = await startCluster();
  const work = mkdtempSync(join(tmpdir(), 'wutong-controller-bench-'));
  let serverPid: number | undefined;
  try {
    await installCrds(cluster, veleroCrdDir('1.11.1'));
    const call = apiClient(cluster.server, cluster.caPem, cluster.token);
    const tenantNamespaces = Array.from({ length: NAMESPACES }, (_, i) => `tenant-${i}-prod`);
    for (const ns of [VELERO_NAMESPACE, WEBHOOK_NAMESPACE, ...tenantNamespaces]) {
      // Tenant envs carry Wutong's namespace labels: the system counts components only there.
      const labels = tenantNamespaces.includes(ns) ? { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: ns, tenant_env_name: 'prod' } : {};
      const reply = await call('POST', '/api/v1/namespaces', { metadata: { name: ns, labels } });
      if (reply.status !== 201) throw new Error(`namespace ${ns}: ${reply.status} ${reply.body.slice(0, 200)}`);
    }
    for (const ns of tenantNamespaces) await waitForServiceAccountToken(cluster, ns);
    await created(call, veleroPath(VELERO_NAMESPACE, 'backupstoragelocations'), {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: 'default', namespace: VELERO_NAMESPACE },
      spec: { provider: 'aws', default: true, objectStorage: { bucket: 'velero' } },
      status: { phase: 'Available', lastValidationTime: kubeTime(Date.now()) },
    });
    await created(call, `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/configmaps`, { metadata: { name: 'wutong-backup-policy' }, data: { 'policy.yaml': POLICY } });

    // The webhook role in the empty cluster (nothing but the policy), as the baseline of the same run.
    const webhookEmpty = await webhookRoleFootprint(cluster.kubeconfigPath, join(work, 'webhook-empty'));
    webhookEmpty.stop();
    log(`webhook role, empty cluster: RSS ${webhookEmpty.idleMiB.toFixed(0)} MiB idle, ${webhookEmpty.loadedMiB.toFixed(0)} MiB after ${REVIEWS} reviews`);

    const components: Component[] = Array.from({ length: COMPONENTS }, (_, i) => ({
      serviceId: hex(16),
      namespace: tenantNamespaces[i % NAMESPACES] as string,
      alias: `gr${i.toString(16).padStart(6, '0')}`,
    }));
    let started = performance.now();
    await pool(COMPONENTS, LOAD_CONCURRENCY, (i) => createComponent(call, components[i] as Component));
    log(`${COMPONENTS} components (StatefulSet, PVC, Running pod) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    started = performance.now();
    const now = Date.now();
    let done = 0;
    await pool(BACKUPS, LOAD_CONCURRENCY, async (i) => {
      await created(call, veleroPath(VELERO_NAMESPACE, 'backups'), completedBackup(components[i % COMPONENTS] as Component, now - (BACKUPS - i) * 60_000));
      if (++done % 20_000 === 0) log(`${done} Backups created (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    });
    log(`${BACKUPS} Backups in ${((performance.now() - started) / 1000).toFixed(0)} s`);

    const webhookFull = await webhookRoleFootprint(cluster.kubeconfigPath, join(work, 'webhook-full'));
    webhookFull.stop();
    log(`webhook role, ${COMPONENTS} components and ${BACKUPS} Backups: RSS ${webhookFull.idleMiB.toFixed(0)} MiB idle, ${webhookFull.loadedMiB.toFixed(0)} MiB after ${REVIEWS} reviews`);

    // The controller role, as its Deployment runs it (the API role's records are bench/records-bench.ts's).
    const { child, port } = await startBenchServer(cluster.kubeconfigPath, work, WEBHOOK_NAMESPACE, { ROLE: 'controller' });
    if (child.pid === undefined) throw new Error('the server did not start');
    const pid = child.pid;
    serverPid = pid;
    const serverStarted = performance.now();
    const ca = readFileSync(join(work, 'ca.crt'), 'utf8');
    let metrics = '';
    for (let i = 0; ; i++) {
      metrics = (await get(`https://127.0.0.1:${port}/metrics`, ca)).body;
      const backups = metric(metrics, 'wutong_backup_velero_cache_objects', 'resource="backups"');
      const running = metric(metrics, 'wutong_backup_components', 'state="running"');
      if (backups === BACKUPS && running === COMPONENTS) break;
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
      if (i > WAIT_ROUNDS) {
        const lines = metrics.split('\n').filter((l) => l.startsWith('wutong_backup_components'));
        throw new Error(`after ${WAIT_ROUNDS / 10} s the server holds ${backups} Backups and ${running} running components (${lines.join('; ')})`);
      }
      await sleep(100);
    }
    const listedSeconds = (performance.now() - serverStarted) / 1000;
    const memoryListed = memoryMiB(pid);
    log(`listed ${COMPONENTS} components and ${BACKUPS} Backups ${listedSeconds.toFixed(1)} s after start; RSS ${memoryListed.rss.toFixed(0)} MiB`);

    // The controller's first pass: a Schedule for every protected component.
    let schedulesSeconds: number | undefined;
    for (let i = 0; i < WAIT_ROUNDS; i++) {
      metrics = (await get(`https://127.0.0.1:${port}/metrics`, ca)).body;
      if (metric(metrics, 'wutong_backup_velero_cache_objects', 'resource="schedules"') === COMPONENTS) {
        schedulesSeconds = (performance.now() - serverStarted) / 1000;
        break;
      }
      await sleep(100);
    }
    if (schedulesSeconds === undefined) throw new Error(`the controller did not give all ${COMPONENTS} components a Schedule within ${WAIT_ROUNDS / 10} s`);
    log(`every component had its Schedule ${schedulesSeconds.toFixed(1)} s after start`);

    // Stop components one at a time, as Wutong does, and time until the Schedule is paused.
    const latencies: number[] = [];
    for (const c of components.slice(0, STOPS)) {
      const stopAt = performance.now();
      await call('DELETE', `/apis/apps/v1/namespaces/${c.namespace}/statefulsets/${c.alias}`);
      await call('DELETE', `/api/v1/namespaces/${c.namespace}/pods/${c.alias}-0`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
      for (;;) {
        const reply = await call('GET', `${veleroPath(VELERO_NAMESPACE, 'schedules')}/${scheduleName(c)}`);
        if ((JSON.parse(reply.body) as { spec?: { paused?: boolean } }).spec?.paused === true) break;
        if (performance.now() - stopAt > 60_000) throw new Error(`Schedule of ${c.alias} not paused 60 s after the stop`);
        await sleep(10);
      }
      latencies.push(performance.now() - stopAt);
    }
    latencies.sort((a, b) => a - b);
    const memoryEnd = memoryMiB(pid);
    const loadAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const summary = {
      components: COMPONENTS,
      backups: BACKUPS,
      listedSeconds: Number(listedSeconds.toFixed(2)),
      rssMiBListed: Number(memoryListed.rss.toFixed(0)),
      rssMiBEnd: Number(memoryEnd.rss.toFixed(0)),
      peakRssMiB: Number(memoryEnd.hwm.toFixed(0)),
      schedulesSeconds: Number(schedulesSeconds.toFixed(2)),
      stopToPausedMs: { p50: Math.round(percentile(latencies, 50)), p90: Math.round(percentile(latencies, 90)), max: Math.round(latencies.at(-1) ?? Number.NaN), samples: latencies.length },
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      webhookRole: {
        reviews: REVIEWS,
        empty: { idleMiB: Math.round(webhookEmpty.idleMiB), loadedMiB: Math.round(webhookEmpty.loadedMiB), peakMiB: Math.round(webhookEmpty.peakMiB) },
        full: { idleMiB: Math.round(webhookFull.idleMiB), loadedMiB: Math.round(webhookFull.loadedMiB), peakMiB: Math.round(webhookFull.peakMiB) },
      },
    };
    const markdown = [
      `# Controller benchmark (${new Date().toISOString()})`,
      '',
      `${COMPONENTS} components in ${NAMESPACES} namespaces, ${BACKUPS} Completed Backups, kube-apiserver v1.20.2 with Velero v1.11.1 CRDs; load average ${loadAtStart} at the start, ${loadAtEnd} at the end; nothing pinned.`,
      '',
      '| measure | value |',
      '|---|---:|',
      `| start to everything listed (components and Backups) | ${summary.listedSeconds} s |`,
      `| RSS once listed | ${summary.rssMiBListed} MiB |`,
      `| peak RSS (VmHWM) | ${summary.peakRssMiB} MiB |`,
      `| start to a Schedule for every component | ${summary.schedulesSeconds} s |`,
      `| component stopped → Schedule paused, p50 / p90 / max of ${latencies.length} | ${summary.stopToPausedMs.p50} / ${summary.stopToPausedMs.p90} / ${summary.stopToPausedMs.max} ms |`,
      '',
      `The webhook role (ROLE=webhook) started in the same cluster twice: empty (before the components and Backups were made) and full; RSS once ready, and after ${REVIEWS} pod reviews (48 at a time):`,
      '',
      '| webhook role | idle | after reviews | peak (VmHWM) |',
      '|---|---:|---:|---:|',
      `| empty cluster | ${summary.webhookRole.empty.idleMiB} MiB | ${summary.webhookRole.empty.loadedMiB} MiB | ${summary.webhookRole.empty.peakMiB} MiB |`,
      `| ${COMPONENTS} components, ${BACKUPS} Backups | ${summary.webhookRole.full.idleMiB} MiB | ${summary.webhookRole.full.loadedMiB} MiB | ${summary.webhookRole.full.peakMiB} MiB |`,
      '',
    ].join('\n');
    process.stdout.write(`${markdown}\n${JSON.stringify(summary)}\n`);
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'controller.md'), markdown);
    log('summary written to bench/results/controller.md');
    child.kill('SIGTERM');
  } finally {
    killIfRunning(serverPid);
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:controller: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
