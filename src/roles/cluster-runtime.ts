import type { Logger } from 'pino';
import type { ApiBackend } from '../api/api-app.js';
import { ComponentRegistry, type ComponentState } from '../components/component-registry.js';
import { reportComponentCounts } from '../observability/metrics.js';
import type { Config } from '../config.js';
import type { ControllerDeps } from '../controller/controller-deps.js';
import type { ControllerLoop } from '../controller/controller-loop.js';
import { backfillLoop } from '../controller/backfill-loop.js';
import { backupAnnouncementLoop } from '../controller/backup-announcement-loop.js';
import { backupCoverageLoop } from '../controller/backup-coverage-loop.js';
import { componentPodReader } from '../kube/component-pods.js';
import { componentBackups } from '../controller/coverage.js';
import { retentionLoop } from '../controller/retention-loop.js';
import { runMarkLoop } from '../controller/run-mark-loop.js';
import { runController } from '../controller/run-controller.js';
import { scheduleLoop } from '../controller/schedule-loop.js';
import { upgradeHoldLoop } from '../controller/upgrade-hold-loop.js';
import { reportComponentCoverage } from '../observability/component-metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { watchComponents } from '../kube/component-watch.js';
import { namespaceReader } from '../kube/namespace-reader.js';
import { TenantDirectory } from '../tenancy/tenant-directory.js';
import { watchTenantNamespaces } from '../kube/tenant-namespace-watch.js';
import { createBackupBackend } from './backup-backend.js';
import { claimPatcher } from '../kube/claim-patcher.js';
import { kubeEventRecorder } from '../kube/event-recorder.js';
import { kubeHttp, type KubeHttp } from '../kube/kube-http.js';
import { electorIdentity, leaseElector } from '../kube/lease-elector.js';
import type { ClusterAccess } from '../kube/kube-config.js';
import { podMetadataPatcher } from '../kube/pod-metadata-patcher.js';
import { webhookScopeReader } from '../kube/webhook-scope-reader.js';
import { workloadPatcher } from '../kube/workload-patcher.js';
import { webhookConfigurationNameFrom } from '../certificates/tls-config.js';
import { dataGuardLoop } from '../controller/data-guard-loop.js';
import { hasGuard } from '../controller/data-guard.js';
import { reportGuardedClaims, reportRetainedVolumes } from '../observability/protection-metrics.js';
import { retainedRecordStore, watchRetainedRecords } from '../kube/retained-records.js';
import { volumeStore } from '../kube/volume-store.js';
import { holderSweepLoop } from '../controller/holder-sweep-loop.js';
import { stopBackupLoop } from '../controller/stop-backup-loop.js';
import { HolderIndex } from '../holder/holder-index.js';
import type { AtRestDeps } from '../holder/at-rest-backup.js';
import { watchHolders } from '../kube/holder-watch.js';
import { AtRestRequestIndex } from '../holder/at-rest-request-index.js';
import { atRestRequestWriter, watchAtRestRequests } from '../kube/at-rest-requests.js';
import { atRestRequestLoop } from '../controller/at-rest-request-loop.js';
import { RestoreRequestIndex } from '../restore/restore-request-index.js';
import { isFinalStage, stageOf } from '../restore/restore-request.js';
import { restoreRequestStore, restoreRequestWriter, watchRestoreRequests } from '../kube/restore-requests.js';
import { restoreRequestLoop } from '../controller/restore-request-loop.js';
import { DownloadRequestIndex } from '../download/download-request-index.js';
import { downloadRequestWriter, watchDownloadRequests } from '../kube/download-requests.js';
import { downloadScratch } from '../kube/download-scratch.js';
import { downloadRequestLoop } from '../controller/download-request-loop.js';

// Writes the controller makes outside a console request: bounded like the API's.
const REQUEST_TIMEOUT_MS = 5_000;

export interface ClusterRuntime {
  backend: ApiBackend;
  /** Starts the watches (every replica) and the election; the loops run while this replica leads. */
  start(): void;
  /** Stops the loops and releases the Lease (the watches and caches go on serving the API); idempotent. */
  stopController(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Everything the api and controller roles need of the cluster, wired once:
 * the tenant, component and Velero watches both keep (the API answers from
 * them, the controller decides on them), and, in a process of the
 * controller role, the controller's own watches, loops and election (only
 * the elected replica runs the loops). A process of the webhook role alone
 * makes none of this: it keeps no cache of the cluster.
 */
export function createClusterRuntime(cluster: ClusterAccess, config: Config, policy: PolicyStore, log: Logger): ClusterRuntime {
  const runsController = config.roles.has('controller');
  const http = kubeHttp(cluster.kubeConfig);
  // Tenant envs from their namespaces' labels: what a route's tenant/env maps to, and where components can be at all.
  const tenants = new TenantDirectory(config.tenantLabels);
  const tenantWatch = watchTenantNamespaces(http, tenants, log);
  const registry = new ComponentRegistry(tenants);
  // The backfill looks at every pod the component watch delivers; its loop needs the deps made from that watch, so it is attached below.
  const podListeners: Array<(raw: unknown) => void> = [];
  const componentWatch = watchComponents(http, registry, log, {
    onPod: (raw) => {
      for (const listener of podListeners) listener(raw);
    },
  });
  reportComponentCounts(() => {
    const counts: Record<ComponentState, number> = { running: 0, stopped: 0, deleted: 0 };
    for (const component of registry.all()) counts[component.state]++;
    return counts;
  });
  const componentsSynced = (): boolean => componentWatch.synced() && tenantWatch.synced();
  // Restores that replace: the API shows their progress from these records, the controller carries them out.
  const restoreIndex = new RestoreRequestIndex();
  const restoreWatch = watchRestoreRequests(http, cluster.namespace, restoreIndex, log);
  const { backend, cache, store, atRest } = createBackupBackend(
    cluster,
    config,
    { http, registry, componentsSynced, tenants: { namespaceOf: (env) => tenants.namespaceOf(env), synced: () => tenantWatch.synced() }, restoreIndex },
    log,
  );
  const deps: ControllerDeps = {
    registry,
    componentsSynced,
    cache,
    store,
    policy,
    events: kubeEventRecorder(cluster.kubeConfig, log, REQUEST_TIMEOUT_MS),
    settings: { veleroNamespace: config.veleroNamespace, storageLocation: config.storageLocation },
    now: () => new Date(),
    log: log.child({ component: 'controller' }),
  };
  // Coverage gauges on every replica (each holds the registry and the cache), computed when scraped.
  reportComponentCoverage({ components: () => registry.all(), backupsOf: (id) => componentBackups(cache, id), now: deps.now });
  // Data guard gauges on every replica: the registry has every PVC's finalizers, the records watch every record.
  reportGuardedClaims(() => registry.all().reduce((n, c) => n + c.claims.filter(hasGuard).length, 0));
  // atRest is made exactly when this process runs the controller role.
  const control = runsController && atRest ? controllerParts(deps, config, http, cluster, { atRest, tenants, restoreIndex }, log) : undefined;
  if (control) podListeners.push(control.podHook);
  return {
    backend,
    start() {
      cache.start();
      void restoreWatch.start();
      void tenantWatch.start().then(() => log.info({ namespaces: tenants.namespaces().length }, 'tenant namespaces listed'));
      void componentWatch.start().then(() => log.info({ components: registry.size }, 'components listed'));
      control?.start();
    },
    stopController: async () => {
      await control?.stop();
    },
    async stop() {
      await control?.stop();
      control?.stopWatches();
      componentWatch.stop();
      restoreWatch.stop();
      tenantWatch.stop();
      cache.stop();
    },
  };
}

/** The controller role's own part: the retained-volume record, holder and at-rest request watches, every loop, and the election that runs them. */
function controllerParts(deps: ControllerDeps, config: Config, http: KubeHttp, cluster: ClusterAccess, own: { atRest: AtRestDeps; tenants: TenantDirectory; restoreIndex: RestoreRequestIndex }, log: Logger) {
  const retainedRecords = watchRetainedRecords(http, cluster.namespace, log);
  reportRetainedVolumes(() => retainedRecords.count());
  // Holder pods, cluster-wide, watched on every replica so a new leader starts with the list; its sweep removes each once its backup or restore is done.
  const holderIndex = new HolderIndex();
  const holderWatch = watchHolders(http, holderIndex, log);
  // The API's requests to back up stopped components, watched on every replica so a new leader starts with the list.
  const requestIndex = new AtRestRequestIndex();
  const requestWatch = watchAtRestRequests(http, cluster.namespace, requestIndex, log);
  // The API's download requests, watched on every replica so a new leader starts with the list.
  const downloadIndex = new DownloadRequestIndex();
  const downloadWatch = watchDownloadRequests(http, cluster.namespace, downloadIndex, log);
  // Every loop of the controller, in one list.
  const { loops, podHook } = controllerLoops(deps, config, http, { namespace: cluster.namespace, atRest: own.atRest, holderIndex, requestIndex, restoreIndex: own.restoreIndex, downloadIndex, tenants: own.tenants });
  const elector = leaseElector(http, { namespace: cluster.namespace, identity: electorIdentity(), timing: config.leaderElection }, log.child({ component: 'leader-election' }));
  let controller: { stop(): void } | undefined;
  return {
    podHook,
    start(): void {
      void retainedRecords.watch.start();
      void holderWatch.start();
      void requestWatch.start();
      void downloadWatch.start();
      controller = runController(loops, elector, deps.log);
      elector.start();
    },
    /** Stops the loops and releases the Lease; idempotent. */
    async stop(): Promise<void> {
      controller?.stop();
      controller = undefined;
      await elector.stop();
    },
    stopWatches(): void {
      retainedRecords.watch.stop();
      holderWatch.stop();
      requestWatch.stop();
      downloadWatch.stop();
    },
  };
}

// A page of 500 pods is a few MB of JSON: more time than a single read.
const PAGE_TIMEOUT_MS = 15_000;

interface LoopParts {
  /** The controller's own namespace, where the retained-volume records and the at-rest backup requests live. */
  namespace: string;
  atRest: AtRestDeps;
  holderIndex: HolderIndex;
  requestIndex: AtRestRequestIndex;
  restoreIndex: RestoreRequestIndex;
  downloadIndex: DownloadRequestIndex;
  tenants: TenantDirectory;
}

function controllerLoops(deps: ControllerDeps, config: Config, http: KubeHttp, parts: LoopParts): { loops: ControllerLoop[]; podHook: (raw: unknown) => void } {
  const backfill = backfillLoop({
    ...deps,
    pods: podMetadataPatcher(http, { requestTimeoutMs: REQUEST_TIMEOUT_MS, pageTimeoutMs: PAGE_TIMEOUT_MS }),
    scope: webhookScopeReader(http, webhookConfigurationNameFrom(process.env), REQUEST_TIMEOUT_MS),
    excludedNamespaces: config.excludedNamespaces,
    ratePerSecond: config.backfillRate,
    resyncMs: config.controllerResyncMs,
  });
  const claims = claimPatcher(http, REQUEST_TIMEOUT_MS);
  return {
    loops: [
      scheduleLoop(deps, config.controllerResyncMs, namespaceReader(http, REQUEST_TIMEOUT_MS), (key) => parts.restoreIndex.of(key).some((r) => !isFinalStage(stageOf(r)))),
      backupAnnouncementLoop(deps, { resyncMs: config.controllerResyncMs }),
      backupCoverageLoop({ ...deps, pods: componentPodReader(http, REQUEST_TIMEOUT_MS), volumes: volumeStore(http, REQUEST_TIMEOUT_MS), resyncMs: config.controllerResyncMs }),
      retentionLoop(
        {
          ...deps,
          restoreIndex: parts.restoreIndex,
          restoreRequests: restoreRequestStore(http, parts.namespace, REQUEST_TIMEOUT_MS),
          lock: parts.atRest.lock,
          deletionBackoff: { baseMs: config.deletionRetryBaseMs, maxMs: config.deletionRetryMaxMs },
        },
        config.controllerResyncMs,
      ),
      backfill,
      runMarkLoop({ ...deps, claims }, config.controllerResyncMs),
      upgradeHoldLoop({ ...deps, workloads: workloadPatcher(http, REQUEST_TIMEOUT_MS) }, config.controllerResyncMs),
      dataGuardLoop({
        ...deps,
        claims,
        volumes: volumeStore(http, REQUEST_TIMEOUT_MS),
        records: retainedRecordStore(http, parts.namespace, REQUEST_TIMEOUT_MS),
        recordNamespace: parts.namespace,
        resyncMs: config.controllerResyncMs,
      }),
      stopBackupLoop({ ...deps, atRest: parts.atRest, claims }, config.controllerResyncMs),
      atRestRequestLoop(
        { ...deps, atRest: parts.atRest, requests: atRestRequestWriter(http, parts.namespace, REQUEST_TIMEOUT_MS), index: parts.requestIndex, tenants: parts.tenants, keepMs: config.atRestRequestKeepMs },
        config.controllerResyncMs,
      ),
      restoreRequestLoop(
        {
          ...deps,
          atRest: parts.atRest,
          requests: restoreRequestWriter(http, parts.namespace, REQUEST_TIMEOUT_MS),
          index: parts.restoreIndex,
          holders: parts.holderIndex,
          claims,
          tenants: parts.tenants,
          keepMs: config.restoreRequestKeepMs,
        },
        config.controllerResyncMs,
      ),
      downloadRequestLoop(
        {
          ...deps,
          requests: downloadRequestWriter(http, parts.namespace, REQUEST_TIMEOUT_MS),
          index: parts.downloadIndex,
          scratch: downloadScratch(http, REQUEST_TIMEOUT_MS),
          image: parts.atRest.holderImage,
          keepMs: config.downloadKeepMs,
        },
        config.controllerResyncMs,
      ),
      holderSweepLoop(deps, parts.holderIndex, parts.atRest.holders, { holderStartTimeoutMs: config.holderStartTimeoutMs, holderMaxAgeMs: config.holderMaxAgeMs, resyncMs: config.controllerResyncMs }),
    ],
    podHook: (raw) => backfill.onPod(raw),
  };
}
