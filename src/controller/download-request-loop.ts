// The controller's side of a download (src/download/): for every download
// request record the API wrote, on the leader only, what downloadStep says
// next, one step per reconcile, each step's result written to the cluster
// before the next is decided. Level-based like the restore loop: all state
// is in the record and the cluster objects (the scratch namespace, the
// Velero Restore named after it, the pods and the Secret in it), so a leader
// that dies mid-way leaves them as they were and the next one decides the
// same step again (what exists is found by its name). A sweep, on the same
// queue under its own key, deletes every scratch namespace (and the Velero
// Restore named after it) whose record is gone: the API removes the record
// when the stream ends, however it ends, and an API killed mid-stream leaves
// a record that expires.
import type { Logger } from 'pino';
import { componentKey } from '../components/component-key.js';
import { downloadHolderPod, downloadSecretObject, issueDownloadCertificate, DOWNLOAD_HOLDER_NAME } from '../download/download-holder-pod.js';
import { downloadProgressPatch, readDownloadRequest, scratchNamespaceObject, type DownloadProgress, type DownloadRequest, type DownloadRequestRecord } from '../download/download-request.js';
import type { DownloadRequestIndex } from '../download/download-request-index.js';
import { downloadStep, orphanScratchNamespaces, type DownloadStep, type DownloadWorld } from '../download/download-step.js';
import type { DownloadScratch } from '../kube/download-scratch.js';
import type { RequestRecordWriter } from '../request-record-ports.js';
import { buildDownloadRestore, DOWNLOAD_RESTORE_LABEL } from '../velero/download-restore.js';
import { AlreadyExists } from '../velero/velero-ports.js';
import { backupComponent } from '../velero/velero-scope.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
/** A write that lost a race (the record changed meanwhile), or a step just done: decide again soon. */
const CONFLICT_RETRY_MS = 200;
const CONCURRENCY = 4;
/** The sweep's key on the queue: not a valid ConfigMap name, so never a record's. */
export const DOWNLOAD_SWEEP_KEY = '*sweep*';
/** The certificate outlives the download's time limit by this much (clock skew between nodes). */
const CERTIFICATE_MARGIN_MS = 10 * 60_000;

export interface DownloadRequestDeps extends ControllerDeps {
  requests: RequestRecordWriter;
  index: DownloadRequestIndex;
  scratch: DownloadScratch;
  /** The project's image: what the hold init container and the holder run (HOLDER_IMAGE, else this pod's own). */
  image: () => Promise<string>;
  /** DOWNLOAD_KEEP: how long a Failed record stays for the API to read the reason. */
  keepMs: number;
}

async function world(deps: DownloadRequestDeps, record: DownloadRequestRecord, request: DownloadRequest | undefined, image: string): Promise<DownloadWorld> {
  const base = { now: deps.now(), keepMs: deps.keepMs, image };
  if (!request) return { ...base, namespace: undefined, backup: undefined, backupVolumes: [], restore: undefined, restoreVolumes: [], restoredPods: [], secretFingerprint: undefined, holder: undefined };
  const scratchName = request.scratchNamespace;
  const namespace = await deps.scratch.namespace(scratchName);
  // Only a namespace made for this record counts: the name is the API's random choice, the label says whose it is.
  const own = namespace && namespace.record === record.name ? namespace : undefined;
  const key = componentKey(request.component.namespace, request.component.serviceId);
  const backup = deps.cache.backup(request.backupName);
  const ownBackup = backup && backupComponent(backup) === key ? backup : undefined;
  const restore = deps.cache.restore(scratchName);
  const ownRestore = restore && restore.metadata.labels[DOWNLOAD_RESTORE_LABEL] === record.name ? restore : undefined;
  const pods = own ? await deps.scratch.pods(scratchName) : [];
  // Pods on their way out (deleted with grace 0) are done with.
  const live = pods.filter((p) => !p.deleting);
  const holder = live.find((p) => p.name === DOWNLOAD_HOLDER_NAME);
  return {
    ...base,
    namespace: own ? { terminating: own.terminating } : undefined,
    backup: ownBackup,
    backupVolumes: ownBackup ? deps.cache.podVolumeBackupsOf(request.backupName) : [],
    restore: ownRestore,
    restoreVolumes: ownRestore ? deps.cache.podVolumeRestoresOf(scratchName) : [],
    restoredPods: live.filter((p) => p.name !== DOWNLOAD_HOLDER_NAME).map(({ name, uid, phase, initContainers }) => ({ name, uid, phase, initContainers })),
    secretFingerprint: record.progress?.fingerprint,
    holder: holder ? { phase: holder.phase, ...(holder.podIP ? { podIP: holder.podIP } : {}) } : undefined,
  };
}

async function reconcile(deps: DownloadRequestDeps, log: Logger, name: string, signal: AbortSignal): Promise<ReconcileResult> {
  if (!synced(deps) || !deps.index.synced()) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  if (name === DOWNLOAD_SWEEP_KEY) return sweep(deps, log);
  const record = deps.index.get(name);
  if (!record) return;
  const request = record.request;
  const image = await deps.image();
  const step = downloadStep(record, await world(deps, record, request, image));
  signal.throwIfAborted();
  return run(deps, log.child({ request: name, scratch: request?.scratchNamespace, step: step.kind }), record, request, step, image);
}

async function run(deps: DownloadRequestDeps, log: Logger, record: DownloadRequestRecord, request: DownloadRequest | undefined, step: DownloadStep, image: string): Promise<ReconcileResult> {
  const now = deps.now();
  switch (step.kind) {
    case 'wait':
      return { requeueAfterMs: step.ms };
    case 'advance':
      return progress(deps, log, record, {
        stage: step.stage,
        message: step.message,
        since: now.toISOString(),
        ...(step.volumes ? { volumes: step.volumes } : {}),
        ...(step.missing ? { missing: step.missing } : {}),
        ...(step.holder ? { holder: step.holder } : {}),
      });
    case 'remove':
      // The Restore first: once the record is gone nothing names it but the sweep's namespace list.
      if (request) await removeRestore(deps, log, request.scratchNamespace);
      if (await deps.requests.remove(record.name, record.uid)) log.info('download request removed');
      return;
    case 'fail':
      if (request && (await deps.scratch.deleteNamespace(request.scratchNamespace))) log.info('scratch namespace deleted');
      log.warn({ why: step.message }, 'download failed');
      return progress(deps, log, record, { stage: 'Failed', message: step.message, since: now.toISOString() });
  }
  if (!request) return;
  const scratch = request.scratchNamespace;
  const left = Math.max(1, Date.parse(request.expiresAt) - now.getTime());
  switch (step.kind) {
    case 'delete-namespace':
      if (await deps.scratch.deleteNamespace(scratch)) log.info('scratch namespace deleted');
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    case 'create-namespace':
      if ((await deps.scratch.createNamespace(scratchNamespaceObject(scratch, record.name))) === 'created') log.info('scratch namespace created');
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    case 'create-restore': {
      const restore = buildDownloadRestore({
        name: scratch,
        veleroNamespace: deps.settings.veleroNamespace,
        component: { namespace: request.component.namespace, serviceId: request.component.serviceId },
        backupName: request.backupName,
        scratchNamespace: scratch,
        recordName: record.name,
        image,
      });
      try {
        deps.cache.remember('restores', await deps.store.create(restore));
        log.info({ backup: request.backupName }, 'Velero Restore into the scratch namespace created');
      } catch (err) {
        // Created by an earlier try whose answer was lost: the next step finds it in the cache.
        if (!(err instanceof AlreadyExists)) throw err;
      }
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    }
    case 'delete-pods':
      for (const pod of step.pods) {
        if (await deps.scratch.deletePod(scratch, pod.name, pod.uid)) log.info({ pod: pod.name }, 'restored pod deleted: its claims go to the holder');
      }
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    case 'create-secret': {
      const certificate = issueDownloadCertificate(left + CERTIFICATE_MARGIN_MS, now);
      if ((await deps.scratch.createSecret(downloadSecretObject(scratch, certificate, request.tokenDigest))) === 'exists') {
        // A leader that died between the create and the record's write: its key is gone with it, and this one may not read Secrets.
        return run(deps, log, record, request, { kind: 'fail', message: 'the download holder\'s Secret was made by a controller that stopped before keeping its fingerprint; download again' }, image);
      }
      const kept = record.progress ?? { stage: 'Starting' as const, message: '', since: now.toISOString() };
      return progress(deps, log, record, { ...kept, fingerprint: certificate.fingerprint });
    }
    case 'create-holder': {
      const seconds = Math.ceil(left / 1_000);
      const pod = downloadHolderPod({ namespace: scratch, image, claims: step.claims, activeDeadlineSeconds: seconds, wait: `${seconds}s` });
      if ((await deps.scratch.createPod(pod)) === 'created') log.info({ claims: step.claims }, 'download holder pod created');
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    }
  }
}

async function removeRestore(deps: DownloadRequestDeps, log: Logger, name: string): Promise<void> {
  if (!deps.cache.restore(name)?.metadata.labels[DOWNLOAD_RESTORE_LABEL]) return;
  if (await deps.store.remove('restores', name)) log.info({ restore: name }, 'download Velero Restore deleted');
  deps.cache.forget('restores', name);
}

/** Scratch namespaces whose record is gone, and their Velero Restores: deleted. */
async function sweep(deps: DownloadRequestDeps, log: Logger): Promise<ReconcileResult> {
  const namespaces = await deps.scratch.namespaces();
  const records = new Set(deps.index.names());
  for (const ns of namespaces.filter((n) => !records.has(n.record))) await removeRestore(deps, log, ns.name);
  for (const name of orphanScratchNamespaces(namespaces, records)) {
    if (await deps.scratch.deleteNamespace(name)) log.info({ namespace: name }, 'scratch namespace of a finished download deleted');
  }
  return;
}

async function progress(deps: DownloadRequestDeps, log: Logger, record: DownloadRequestRecord, next: DownloadProgress): Promise<ReconcileResult> {
  const written = await deps.requests.write(record.name, downloadProgressPatch(record.resourceVersion, next));
  if (written.kind === 'gone') return;
  if (written.kind === 'conflict') return { requeueAfterMs: CONFLICT_RETRY_MS };
  const updated = readDownloadRequest(written.record);
  if (updated) deps.index.upsert(updated);
  log.info({ stage: next.stage, message: next.message }, 'download stage');
  return { requeueAfterMs: 0 };
}

/** The download loop; `resyncMs` is CONTROLLER_RESYNC (the sweep runs on each, and whenever a record goes). */
export function downloadRequestLoop(deps: DownloadRequestDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'download-requests' });
  const queue = new WorkQueue((name, signal) => reconcile(deps, log, name, signal), { name: 'download-requests', concurrency: CONCURRENCY }, log);
  return {
    queue,
    keys: () => [...deps.index.names(), DOWNLOAD_SWEEP_KEY],
    resyncMs,
    watch: () =>
      deps.index.subscribe((name) => {
        queue.add(name);
        if (!deps.index.get(name)) queue.add(DOWNLOAD_SWEEP_KEY);
      }),
  };
}
