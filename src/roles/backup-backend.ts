import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ApiBackend } from '../api/api-app.js';
import { accessControl } from '../api/auth/access-control.js';
import { apiAccessOptions } from '../api/auth/access-settings.js';
import type { Config } from '../config.js';
import { reportVeleroCacheSizes } from '../observability/metrics.js';
import { kubeAuthReviews } from '../kube/auth-reviews.js';
import { kubeComponentReader, registryComponentReader } from '../kube/component-reader.js';
import type { KubeHttp } from '../kube/kube-http.js';
import type { ComponentRegistry } from '../components/component-registry.js';
import type { VeleroStore } from '../velero/velero-ports.js';
import type { TenantLookup } from '../api/use-cases/ports.js';
import type { ClusterAccess } from '../kube/kube-config.js';
import { leaseLock } from '../kube/lease-lock.js';
import { veleroCache, type RunningVeleroCache } from '../kube/velero-cache.js';
import { kubeEventRecorder } from '../kube/event-recorder.js';
import { holderImageSource } from '../kube/holder-image.js';
import { kubeHolderPods } from '../kube/holder-pods.js';
import { atRestRequestStore } from '../kube/at-rest-requests.js';
import { restoreRequestStore } from '../kube/restore-requests.js';
import type { RestoreRequestIndex } from '../restore/restore-request-index.js';
import type { AtRestDeps } from '../holder/at-rest-backup.js';
import { kubeVeleroStore } from '../kube/velero-store.js';

// Calls made while a console request waits: short, so an API server in
// trouble turns into a clear 503 within a few seconds, not a hung page.
const REQUEST_TIMEOUT_MS = 5_000;
const DOWNLOAD_POLL_MS = 250;
// How often the controller's backup of a stopped component looks whether its holder pod runs yet.
const HOLDER_POLL_MS = 500;
// How often the API, waiting for the controller to back up a stopped component, reads the request record.
const AT_REST_POLL_MS = 250;

/** The backup API's use cases wired to the cluster: caches, live store, lock, reviews. */
export interface BackupBackendParts {
  http: KubeHttp;
  registry: ComponentRegistry;
  componentsSynced: () => boolean;
  tenants: TenantLookup;
  /** Restore request records, from the watch the cluster runtime keeps. */
  restoreIndex: RestoreRequestIndex;
}

export function createBackupBackend(
  cluster: ClusterAccess,
  config: Config,
  parts: BackupBackendParts,
  log: Logger,
): { backend: ApiBackend; cache: RunningVeleroCache; store: VeleroStore; atRest: AtRestDeps | undefined } {
  const { http } = parts;
  const cache = veleroCache(http, { namespace: config.veleroNamespace, storageLocation: config.storageLocation, maxValidationAgeMs: config.storageLocationMaxValidationAgeMs }, log);
  reportVeleroCacheSizes(() => cache.sizes());
  const store = kubeVeleroStore(http, config.veleroNamespace, REQUEST_TIMEOUT_MS);
  const lock = leaseLock(http, { namespace: cluster.namespace, holder: process.env.POD_NAME || hostname(), requestTimeoutMs: REQUEST_TIMEOUT_MS }, log);
  // The controller's alone (the api role makes no pod): its backups on stop and the API's requests it takes (at-rest-request-loop.ts) share one lock, one holder per component.
  const atRest: AtRestDeps | undefined = config.roles.has('controller')
    ? {
        holders: kubeHolderPods(http, REQUEST_TIMEOUT_MS),
        store,
        cache,
        lock,
        events: kubeEventRecorder(cluster.kubeConfig, log, REQUEST_TIMEOUT_MS),
        holderImage: holderImageSource(
          http,
          { configured: config.holderImage, namespace: cluster.namespace, podName: process.env.POD_NAME, container: 'controller', timeoutMs: REQUEST_TIMEOUT_MS },
          log,
        ),
        settings: { holderStartTimeoutMs: config.holderStartTimeoutMs, holderPollMs: HOLDER_POLL_MS },
        log: log.child({ component: 'holder' }),
      }
    : undefined;
  const backend: ApiBackend = {
    deps: {
      components: registryComponentReader(parts.registry, parts.componentsSynced, kubeComponentReader(http, REQUEST_TIMEOUT_MS)),
      cache,
      store,
      lock,
      atRestRequests: atRestRequestStore(http, cluster.namespace, REQUEST_TIMEOUT_MS),
      restoreRequests: restoreRequestStore(http, cluster.namespace, REQUEST_TIMEOUT_MS),
      restoreIndex: parts.restoreIndex,
      settings: {
        veleroNamespace: config.veleroNamespace,
        storageLocation: config.storageLocation,
        downloadTimeoutMs: config.downloadTimeoutMs,
        downloadPollMs: DOWNLOAD_POLL_MS,
        holderStartTimeoutMs: config.holderStartTimeoutMs,
        atRestPollMs: AT_REST_POLL_MS,
      },
      now: () => new Date(),
      random: () => randomBytes(2).toString('hex'),
      log,
    },
    access: accessControl(kubeAuthReviews(http, REQUEST_TIMEOUT_MS), apiAccessOptions(config)),
    tenants: parts.tenants,
  };
  return { backend, cache, store, atRest };
}
