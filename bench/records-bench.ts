/**
 * The records benchmark (`BENCH_ONLY=records npm run bench`, and the last
 * phase of `npm run bench`): GET …/backup/records of one component with 1,000
 * backups and 2,000 PodVolumeBackups, in a cluster of 20,000 backups, served
 * by the built server from its watch caches; and, in the same run against the
 * same API server, the region API's way (list the component's Backups, then
 * one PodVolumeBackup list per Backup). Both are driven from Go
 * (bench/go-records). Figures come with the load average they ran under.
 *
 * The server runs the api role (ROLE=api, as its Deployment does) with the
 * test cluster's admin kubeconfig (system:masters),
 * not the shipped RBAC: the benchmark measures serving, the e2e suite checks
 * permissions. Its TokenReview and SubjectAccessReview answers are cached
 * between requests (api/auth/access-control.ts), as they are in production.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../src/components/wutong-labels.js';
import { buildBackup } from '../src/velero/backup-object.js';
import { manualBackupName } from '../src/velero/object-names.js';
import { VELERO_LABEL } from '../src/velero/velero-labels.js';
import { veleroPath } from '../src/velero/velero-resources.js';
import { apiClient, created, get, killIfRunning, startBenchServer, hex, kubeTime, LOAD_CONCURRENCY, memoryMiB, pool, sleep, type Call } from './cluster-kit.js';
import { installCrds, provision, startCluster, veleroCrdDir, waitForServiceAccountToken, type TestCluster } from '../test/e2e/cluster/cluster.js';

const ROOT = process.cwd();
const TOTAL_BACKUPS = Number(process.env.BENCH_RECORDS_BACKUPS ?? 20_000);
const OWN_BACKUPS = Number(process.env.BENCH_RECORDS_OWN ?? 1_000);
const VOLUMES_PER_BACKUP = 2;
/** Other components' backups each; 19,000 / 10 = 1,900 other components. */
const PER_OTHER_COMPONENT = 10;
const REQUESTS = Number(process.env.BENCH_RECORDS_REQUESTS ?? 200);
const WARMUP = Number(process.env.BENCH_RECORDS_WARMUP ?? 20);
const RATE = Number(process.env.BENCH_RECORDS_RATE ?? 20);
const RATE_SECONDS = Number(process.env.BENCH_RECORDS_RATE_SECONDS ?? 15);
const N1_RUNS = Number(process.env.BENCH_N1_RUNS ?? 3);
/** No new N+1 run starts after this long (one always runs): a run of 1,001 lists can take minutes. */
const N1_BUDGET_SECONDS = Number(process.env.BENCH_N1_BUDGET_SECONDS ?? 180);
/** What the stand-in and a small MySQL volume report: go-humanize "83 MB". */
const VOLUME_BYTES = 82_854_982;
const VELERO_NAMESPACE = 'velero';
const WEBHOOK_NAMESPACE = 'wutong-backup';
const TENANT = { name: 'bench', env: 'prod', namespace: 'bench-prod', alias: 'gr4f2c1a' };
const SERVICE_ID = '5f0c3e1d9a7b4c2e8f6a1d0b3c9e7f5a';
const GOAL_P99_MS = 20;
const GOAL_RATIO = 50;

const log = (m: string): void => void process.stderr.write(`bench:records: ${m}\n`);

/** Marks a figure that cannot be trusted (wrong answers): the bench then exits 1. */
class InvalidRun extends Error {}


/**
 * A finished Backup as Velero v1.11 leaves it: our builder's object (what the
 * API creates), plus the annotations Velero's backup controller adds and a
 * Completed status with timestamps, expiration and progress. `scheduled`:
 * named and labelled as the Backups a Schedule makes.
 */
function completedBackup(serviceId: string, startedMs: number, scheduled: boolean): Record<string, unknown> {
  // Velero names a Schedule's Backups <schedule>-<yyyyMMddHHmmss>.
  const stamp = new Date(startedMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const object = buildBackup({
    name: scheduled ? `${serviceId}-schedule-${stamp}` : manualBackupName(serviceId, new Date(startedMs), hex(2)),
    veleroNamespace: VELERO_NAMESPACE,
    storageLocation: 'default',
    serviceId,
    componentNamespace: TENANT.namespace,
    ttl: { label: '720h', spec: '720h0m0s' },
    desc: 'nightly before the schema migration',
    operator: 'admin',
  });
  const metadata = {
    ...object.metadata,
    labels: { ...object.metadata.labels, ...(scheduled ? { [VELERO_LABEL.scheduleName]: `${serviceId}-schedule` } : {}) },
    annotations: {
      ...object.metadata.annotations,
      'velero.io/resource-timeout': '10m0s',
      'velero.io/source-cluster-k8s-gitversion': 'v1.20.2',
      'velero.io/source-cluster-k8s-major-version': '1',
      'velero.io/source-cluster-k8s-minor-version': '20',
    },
  };
  const spec = { ...object.spec, hooks: {}, metadata: {}, itemOperationTimeout: '1h0m0s' };
  const status = {
    version: 1,
    formatVersion: '1.1.0',
    phase: 'Completed',
    startTimestamp: kubeTime(startedMs),
    completionTimestamp: kubeTime(startedMs + 95_000),
    expiration: kubeTime(startedMs + 720 * 3_600_000),
    progress: { totalItems: 27, itemsBackedUp: 27 },
    warnings: 0,
    errors: 0,
  };
  return { ...object, metadata, spec, status };
}

/** A Completed PodVolumeBackup of `backup`, as Velero's node agent leaves one (restic uploader). */
function completedPodVolumeBackup(backup: { name: string; uid: string }, volume: string, startedMs: number): Record<string, unknown> {
  const pod = { kind: 'Pod', namespace: TENANT.namespace, name: `${TENANT.alias}-0`, uid: '7d1f0a52-3f0e-4b8c-9d0a-6c2b1e4f8a90' };
  const pvcUid = volume === 'data' ? '0b6f4e1c-2d3a-4f5e-8a7b-9c0d1e2f3a4b' : '1c7a5f2d-3e4b-4a6f-9b8c-0d1e2f3a4b5c';
  return {
    apiVersion: 'velero.io/v1',
    kind: 'PodVolumeBackup',
    metadata: {
      generateName: `${backup.name}-`,
      namespace: VELERO_NAMESPACE,
      ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Backup', name: backup.name, uid: backup.uid, controller: true }],
      labels: { [VELERO_LABEL.backupName]: backup.name, [VELERO_LABEL.backupUid]: backup.uid, 'velero.io/pvc-uid': pvcUid },
      annotations: { 'velero.io/pvc-name': `${volume}-${TENANT.alias}-0` },
    },
    spec: {
      node: 'node-1',
      pod,
      volume,
      tags: { backup: backup.name, 'backup-uid': backup.uid, pod: pod.name, 'pod-uid': pod.uid, ns: pod.namespace, volume, 'pvc-uid': pvcUid },
      backupStorageLocation: 'default',
      repoIdentifier: `s3:http://minio.velero.svc:9000/velero/restic/${TENANT.namespace}`,
      uploaderType: 'restic',
    },
    status: {
      phase: 'Completed',
      startTimestamp: kubeTime(startedMs + 5_000),
      completionTimestamp: kubeTime(startedMs + 90_000),
      path: `/host_pods/${pod.uid}/volumes/kubernetes.io~csi/pvc-${pvcUid}/mount`,
      snapshotID: hex(4),
      progress: { totalBytes: VOLUME_BYTES, bytesDone: VOLUME_BYTES },
    },
  };
}

/** The component's PVC and pod, labelled as Wutong labels them, so the route resolves. */
async function wutongComponent(call: Call, cluster: TestCluster): Promise<void> {
  const labels = {
    [WUTONG_LABEL.creator]: WUTONG_CREATOR,
    [WUTONG_LABEL.tenantName]: TENANT.name,
    [WUTONG_LABEL.tenantEnvName]: TENANT.env,
    [WUTONG_LABEL.serviceAlias]: TENANT.alias,
    [WUTONG_LABEL.serviceId]: SERVICE_ID,
  };
  for (const volume of ['data', 'logs']) {
    await created(call, `/api/v1/namespaces/${TENANT.namespace}/persistentvolumeclaims`, {
      metadata: { name: `${volume}-${TENANT.alias}-0`, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  await waitForServiceAccountToken(cluster, TENANT.namespace);
  await created(call, `/api/v1/namespaces/${TENANT.namespace}/pods`, {
    metadata: { name: `${TENANT.alias}-0`, labels },
    spec: {
      containers: [{ name: TENANT.alias, image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }, { name: 'logs', mountPath: '/var/log/mysql' }] }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: `data-${TENANT.alias}-0` } },
        { name: 'logs', persistentVolumeClaim: { claimName: `logs-${TENANT.alias}-0` } },
      ],
    },
  });
}

/** 20,000 Backups (1,000 of them the component's, each with 2 PodVolumeBackups), created concurrently. */
async function loadVelero(call: Call): Promise<{ seconds: number; objects: number }> {
  await created(call, veleroPath(VELERO_NAMESPACE, 'backupstoragelocations'), {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: 'default', namespace: VELERO_NAMESPACE },
    spec: { provider: 'aws', default: true, objectStorage: { bucket: 'velero' }, config: { region: 'minio', s3ForcePathStyle: 'true', s3Url: 'http://minio.velero.svc:9000' } },
    status: { phase: 'Available', lastValidationTime: kubeTime(Date.now()) },
  });
  const others = Array.from({ length: Math.ceil((TOTAL_BACKUPS - OWN_BACKUPS) / PER_OTHER_COMPONENT) }, () => hex(16));
  const now = Date.now();
  let done = 0;
  const started = performance.now();
  await pool(TOTAL_BACKUPS, LOAD_CONCURRENCY, async (i) => {
    // Interleaved, so the component's backups are spread through etcd like the others'.
    const own = i % Math.round(TOTAL_BACKUPS / OWN_BACKUPS) === 0 && i / Math.round(TOTAL_BACKUPS / OWN_BACKUPS) < OWN_BACKUPS;
    const serviceId = own ? SERVICE_ID : (others[i % others.length] as string);
    // One an hour up to now, in creation order: unique names, plausible ages.
    const startedMs = now - (TOTAL_BACKUPS - i) * 3_600_000;
    const backup = await created(call, veleroPath(VELERO_NAMESPACE, 'backups'), completedBackup(serviceId, startedMs, i % 3 === 0));
    if (own) {
      for (const volume of ['data', 'logs'].slice(0, VOLUMES_PER_BACKUP)) {
        await created(call, veleroPath(VELERO_NAMESPACE, 'podvolumebackups'), completedPodVolumeBackup(backup.metadata, volume, startedMs));
      }
    }
    if (++done % 5_000 === 0) log(`${done} Backups created (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  });
  return { seconds: (performance.now() - started) / 1000, objects: TOTAL_BACKUPS + OWN_BACKUPS * VOLUMES_PER_BACKUP + 1 };
}

function gauge(metrics: string, name: string, resource: string): number {
  const match = new RegExp(`^${name}\\{resource="${resource}"\\} (\\S+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : Number.NaN;
}

interface GoResult {
  mode: string;
  proto: string;
  rate: number;
  sent: number;
  ok: number;
  bad: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  bytes: number;
  calls: number;
  servedProto: string;
  listP50Ms?: number;
  listP99Ms?: number;
  backupsListMs?: number;
}

function goRecords(args: string[]): Promise<GoResult> {
  return new Promise((resolve, reject) => {
    const go = spawn(join(ROOT, 'dist', 'bench', 'go-records'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    go.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    go.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('GO_RESULT '));
      if (code === 0 && line) {
        const result = JSON.parse(line.slice('GO_RESULT '.length)) as GoResult;
        if (result.bad > 0 || result.errors > 0 || result.ok !== result.sent) {
          reject(new InvalidRun(`go-records ${args.join(' ')}: ${result.ok} of ${result.sent} correct, ${result.bad} wrong answers, ${result.errors} errors (${result.firstError ?? ''})`));
        } else resolve(result);
      } else reject(new InvalidRun(`go-records exited ${code}: ${out}`));
    });
  });
}

/** One answer checked in full: count, order, and one record's fields (not only a count, as the Go client checks). */
function checkRecords(body: string): void {
  const answer = JSON.parse(body) as { list?: Array<Record<string, unknown>> };
  const list = answer.list ?? [];
  if (list.length !== OWN_BACKUPS) throw new InvalidRun(`records: ${list.length}, want ${OWN_BACKUPS}`);
  const first = list[0] ?? {};
  const expected = { service_id: SERVICE_ID, ttl: '720h', status: 'Completed', size: '166 MB', progress_rate: '100.00%', completed_items: 27, total_items: 27, restorable: true, operator: 'admin' };
  for (const [field, value] of Object.entries(expected)) {
    if (first[field] !== value) throw new InvalidRun(`records: ${field} is ${JSON.stringify(first[field])}, want ${JSON.stringify(value)}`);
  }
  if (typeof first.download_url !== 'string' || !first.download_url.endsWith('/download')) throw new InvalidRun(`records: download_url ${String(first.download_url)}`);
  // Created 48 at a time, so neighbours may share or swap a creationTimestamp second; the ends may not.
  const [newest, oldest] = [String(list[0]?.created_at), String(list[list.length - 1]?.created_at)];
  if (!(newest > oldest)) throw new InvalidRun(`records: not newest first (${newest} … ${oldest})`);
  const scheduled = list.filter((r) => r.mode === 'Scheduled').length;
  if (scheduled === 0 || scheduled === list.length) throw new InvalidRun(`records: ${scheduled} of ${list.length} Scheduled: the Schedule label is not read`);
}

async function main(): Promise<void> {
  await provision();
  const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cluster = await startCluster();
  const work = mkdtempSync(join(tmpdir(), 'wutong-records-bench-'));
  let serverPid: number | undefined;
  try {
    await installCrds(cluster, veleroCrdDir('1.11.1'));
    const call = apiClient(cluster.server, cluster.caPem, cluster.token);
    for (const ns of [VELERO_NAMESPACE, WEBHOOK_NAMESPACE, TENANT.namespace]) {
      // The tenant env carries Wutong's namespace labels: the API maps the route's tenant/env through them.
      const labels = ns === TENANT.namespace ? { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: TENANT.name, tenant_env_name: TENANT.env } : {};
      const reply = await call('POST', '/api/v1/namespaces', { metadata: { name: ns, labels } });
      if (reply.status !== 201) throw new Error(`namespace ${ns}: ${reply.status} ${reply.body.slice(0, 200)}`);
    }
    await wutongComponent(call, cluster);
    log(`creating ${TOTAL_BACKUPS} Backups and ${OWN_BACKUPS * VOLUMES_PER_BACKUP} PodVolumeBackups, ${LOAD_CONCURRENCY} at a time`);
    const load = await loadVelero(call);
    log(`loaded ${load.objects} objects in ${load.seconds.toFixed(1)} s`);

    const { child, port, apiPort } = await startBenchServer(cluster.kubeconfigPath, work, WEBHOOK_NAMESPACE, { ROLE: 'api' });
    serverPid = child.pid;
    const serverStarted = performance.now();
    const ca = readFileSync(join(work, 'ca.crt'), 'utf8');
    let metrics = '';
    for (let i = 0; ; i++) {
      metrics = (await get(`https://127.0.0.1:${port}/metrics`, ca)).body;
      const cached = gauge(metrics, 'wutong_backup_velero_cache_objects', 'backups');
      const volumes = gauge(metrics, 'wutong_backup_velero_cache_objects', 'podvolumebackups');
      if (cached === TOTAL_BACKUPS && volumes === OWN_BACKUPS * VOLUMES_PER_BACKUP) break;
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
      if (i > 600) throw new Error(`the cache holds ${cached} Backups and ${volumes} PodVolumeBackups after 120 s`);
      await sleep(200);
    }
    const cacheFilled = (performance.now() - serverStarted) / 1000;
    const cacheBytes = gauge(metrics, 'wutong_backup_velero_cache_bytes', 'backups');
    const pvbBytes = gauge(metrics, 'wutong_backup_velero_cache_bytes', 'podvolumebackups');
    log(`server cache full ${cacheFilled.toFixed(1)} s after start: ${(cacheBytes / TOTAL_BACKUPS).toFixed(0)} bytes per Backup`);

    const recordsUrl = `https://127.0.0.1:${apiPort}/v2/tenants/${TENANT.name}/envs/${TENANT.env}/services/${TENANT.alias}/backup/records`;
    const first = await get(recordsUrl, ca, { authorization: `Bearer ${cluster.token}` });
    if (first.status !== 200) throw new InvalidRun(`GET records: ${first.status} ${first.body.slice(0, 300)}`);
    checkRecords(first.body);
    const memoryIdle = memoryMiB(serverPid!);

    const caFile = join(work, 'ca.crt');
    const apiserverCa = join(work, 'apiserver-ca.crt');
    writeFileSync(apiserverCa, cluster.caPem);
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, cluster.token, { mode: 0o600 });
    const common = [`-ca=${caFile}`, `-token-file=${tokenFile}`, `-url=${recordsUrl}`, `-expect=${OWN_BACKUPS}`];
    log(`our API: ${REQUESTS} sequential GETs over HTTP/2, then HTTP/1.1, then ${RATE}/s for ${RATE_SECONDS} s`);
    const h2 = await goRecords([...common, '-mode=api', '-proto=h2', `-n=${REQUESTS}`, `-warmup=${WARMUP}`]);
    const http1 = await goRecords([...common, '-mode=api', '-proto=http1', `-n=${REQUESTS}`, `-warmup=${WARMUP}`]);
    const fixed = await goRecords([...common, '-mode=api', '-proto=h2', `-n=${RATE * RATE_SECONDS}`, `-warmup=${WARMUP}`, `-rate=${RATE}`]);
    const memoryLoaded = memoryMiB(serverPid!);
    for (const r of [h2, http1, fixed]) log(`ours ${r.proto} rate ${r.rate}: p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (${r.sent} requests)`);

    log(`the region API's way (1 + ${OWN_BACKUPS} lists): up to ${N1_RUNS} sequential runs, none started after ${N1_BUDGET_SECONDS} s, no warm-up run`);
    const n1 = await goRecords([
      '-mode=n1',
      `-url=${cluster.server}`,
      `-ca=${apiserverCa}`,
      `-token-file=${tokenFile}`,
      '-proto=h2',
      `-n=${N1_RUNS}`,
      '-warmup=0',
      `-budget=${N1_BUDGET_SECONDS}s`,
      `-service-id=${SERVICE_ID}`,
      `-expect=${OWN_BACKUPS}`,
      `-expect-volumes=${OWN_BACKUPS * VOLUMES_PER_BACKUP}`,
      `-namespace=${VELERO_NAMESPACE}`,
      '-timeout=60m',
    ]);
    log(`N+1: ${n1.sent} run(s), p50 ${n1.p50Ms} ms, slowest ${n1.maxMs} ms; each PodVolumeBackup list p50 ${n1.listP50Ms} ms`);
    const loadAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    child.kill('SIGTERM');

    const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
    const row = (what: string, r: GoResult): string => `| ${what} | ${r.sent} | ${ms(r.p50Ms)} | ${ms(r.p90Ms)} | ${ms(r.p99Ms)} | ${ms(r.maxMs)} | ${(r.bytes / 1024).toFixed(0)} KiB | ${r.servedProto} |`;
    const ratio50 = n1.p50Ms / h2.p50Ms;
    const ratio99 = n1.p99Ms / h2.p99Ms;
    const worstP99 = Math.max(h2.p99Ms, http1.p99Ms, fixed.p99Ms);
    const goal = (ok: boolean): string => (ok ? 'met' : '**missed**');
    const lines = [
      `# Backup records from caches vs the region API's 1 + N lists (kube-apiserver v1.20.2, Velero v1.11.1 CRDs)`,
      '',
      `${new Date().toISOString()} · load average ${loadAtStart} at start, ${loadAtEnd} at the end (2 cores, shared) · ${TOTAL_BACKUPS.toLocaleString('en')} Backups in namespace ${VELERO_NAMESPACE}, ${OWN_BACKUPS.toLocaleString('en')} of them the component's, with ${(OWN_BACKUPS * VOLUMES_PER_BACKUP).toLocaleString('en')} PodVolumeBackups · nothing pinned: API server, etcd, our server and the Go client share both cores`,
      '',
      `Loading: ${load.objects.toLocaleString('en')} objects created ${LOAD_CONCURRENCY} at a time in ${load.seconds.toFixed(1)} s (${(load.objects / load.seconds).toFixed(0)}/s). Our server's caches held all of them ${cacheFilled.toFixed(1)} s after it started.`,
      '',
      '| GET …/backup/records (1,000 records) | requests | p50 | p90 | p99 | max | answer | protocol |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      row('ours, sequential, keep-alive HTTP/2', h2),
      row('ours, sequential, keep-alive HTTP/1.1', http1),
      row(`ours, open loop at ${RATE}/s, HTTP/2`, fixed),
      row(`region API's way: 1 Backup list + ${OWN_BACKUPS} PodVolumeBackup lists, sequential (runs)`, n1),
      '',
      `N+1 / ours: p50 **${ratio50.toFixed(0)}×**, p99 **${ratio99.toFixed(0)}×** (sequential HTTP/2 rows; one N+1 run is ${n1.calls} API calls; ${n1.sent} N+1 run(s), so its p99 is the slowest of them). Inside the N+1 runs: the Backups list took ${ms(n1.backupsListMs ?? 0)} (last run), each PodVolumeBackup list p50 ${ms(n1.listP50Ms ?? 0)}, p99 ${ms(n1.listP99Ms ?? 0)}.`,
      '',
      `Goals (issue F): p99 ≤ ${GOAL_P99_MS} ms: ${goal(worstP99 <= GOAL_P99_MS)} (worst of our rows ${ms(worstP99)}); ≥ ${GOAL_RATIO}× faster than N+1: ${goal(ratio50 >= GOAL_RATIO && ratio99 >= GOAL_RATIO)}.`,
      '',
      '| Our server | |',
      '|---|---:|',
      `| bytes per cached Backup (wutong_backup_velero_cache_bytes / _objects) | ${(cacheBytes / TOTAL_BACKUPS).toFixed(0)} B |`,
      `| bytes per cached PodVolumeBackup | ${(pvbBytes / (OWN_BACKUPS * VOLUMES_PER_BACKUP)).toFixed(0)} B |`,
      `| RSS with ${TOTAL_BACKUPS.toLocaleString('en')} Backups cached, before the load (peak VmHWM) | ${memoryIdle.rss.toFixed(1)} MiB (${memoryIdle.hwm.toFixed(1)} MiB) |`,
      `| RSS after the load | ${memoryLoaded.rss.toFixed(1)} MiB (${memoryLoaded.hwm.toFixed(1)} MiB) |`,
      '',
      `The server ran with the test cluster's admin kubeconfig (system:masters); each GET still resolves the component live (4 label-selected lists) and passes TokenReview/SubjectAccessReview (cached).`,
      '',
    ];
    const markdown = lines.join('\n');
    process.stdout.write(`${markdown}\n`);
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'records.md'), markdown);
    log('summary written to bench/results/records.md');
  } finally {
    killIfRunning(serverPid);
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof InvalidRun ? `INVALID: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
