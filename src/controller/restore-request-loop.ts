// The controller's side of a restore that replaces (src/restore/): for every
// restore request record the API wrote, on the leader only, what
// restoreStep says next, one step per reconcile, each step's result written
// to the cluster before the next is decided. Level-based: a leader that dies
// mid-way leaves the record and the cluster objects as they were, and the
// next one decides the same step again (a safety Backup or Velero Restore
// that exists is found by its name, a claim already deleted is gone).
import type { Logger } from 'pino';
import { componentKey, type ComponentKey } from '../components/component-key.js';
import { describeComponent } from '../components/component.js';
import { backUpAtRest, type AtRestDeps } from '../holder/at-rest-backup.js';
import type { HolderIndex } from '../holder/holder-index.js';
import { atRestRequestRefusal } from '../holder/at-rest-request-check.js';
import { restoreMarkerPod } from '../holder/restore-marker-pod.js';
import type { ClaimPatcher } from '../kube/claim-patcher.js';
import type { RequestRecordWriter } from '../request-record-ports.js';
import { progressPatch, readRestoreRequest, type RestoreProgress, type RestoreRequest, type RestoreRequestRecord } from '../restore/restore-request.js';
import type { RestoreRequestIndex } from '../restore/restore-request-index.js';
import { note, restoreStep, type RestoredPod, type RestoreStep, type RestoreWorld } from '../restore/restore-step.js';
import type { RestoreVerdict } from '../restore/restore-verdict.js';
import { buildRestore } from '../velero/restore-object.js';
import { AlreadyExists } from '../velero/velero-ports.js';
import { VELERO_ANNOTATION, VELERO_LABEL, veleroLabelValue } from '../velero/velero-labels.js';
import { backupComponent, restoreComponent } from '../velero/velero-scope.js';
import type { BackupView } from '../velero/velero-views.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
/** A write that lost a race (the record changed meanwhile): decide again on the newer version soon. */
const CONFLICT_RETRY_MS = 200;
/** Each restore waits most of its time; a few at once keep one slow safety backup from holding up the rest. */
const CONCURRENCY = 4;

export interface RestoreRequestDeps extends ControllerDeps {
  /** The safety backup is a backup at rest: holder pod, then Backup (src/holder/at-rest-backup.ts). */
  atRest: AtRestDeps;
  requests: RequestRecordWriter;
  index: RestoreRequestIndex;
  holders: HolderIndex;
  claims: Pick<ClaimPatcher, 'remove'>;
  tenants: { isTenantNamespace(namespace: string): boolean };
  /** RESTORE_REQUEST_KEEP: how long a finished record stays. */
  keepMs: number;
}

/** Only the component's own: a Backup or Restore of that name scoped elsewhere is no answer (velero-scope.ts). */
function ownBackup(deps: RestoreRequestDeps, key: ComponentKey, name: string | undefined): BackupView | undefined {
  const backup = name === undefined ? undefined : deps.cache.backup(name);
  return backup && backupComponent(backup) === key ? backup : undefined;
}

function world(deps: RestoreRequestDeps, record: RestoreRequestRecord, request: RestoreRequest | undefined): RestoreWorld {
  const base = { now: deps.now(), keepMs: deps.keepMs };
  const empty = { component: undefined, restoredPods: [], holder: undefined, markerHolder: undefined, backup: undefined, backupVolumes: [], safety: undefined, safetyVolumes: [], restore: undefined, restoreVolumes: [] };
  if (!request) return { ...base, ...empty, tenantNamespace: false };
  const key = componentKey(request.component.namespace, request.component.serviceId);
  const component = deps.registry.get(key);
  const restoreLabel = veleroLabelValue(request.restoreName);
  const restore = deps.cache.restore(request.restoreName);
  const ownRestore = restore && restoreComponent(restore, (name) => deps.cache.backup(name)) === key ? restore : undefined;
  const holders = deps.holders.keysOf(key).map((k) => deps.holders.get(k)).filter((h) => h !== undefined);
  // Those on their way out are done with: the kubelet finishes them.
  const restoredPods: RestoredPod[] = [
    ...(component?.pods ?? []).filter((p) => p.labels[VELERO_LABEL.restoreName] === restoreLabel),
    ...holders.filter((h) => h.restoreName === restoreLabel),
  ]
    .filter((p) => p.deletionTimestamp === undefined)
    .map((p) => ({ name: p.name, uid: p.uid, phase: p.phase || 'Pending' }));
  const marker = holders.find((h) => h.clearsRestoreMarkers === request.restoreName);
  const otherHolder = holders.find((h) => h.restoreName !== restoreLabel && h !== marker);
  const safetyName = request.safetyBackup?.metadata.name;
  return {
    ...base,
    tenantNamespace: deps.tenants.isTenantNamespace(request.component.namespace),
    component,
    restoredPods,
    holder: otherHolder ? { name: otherHolder.name, serving: otherHolder.restoreName ? `restore ${otherHolder.restoreName}` : otherHolder.clearsRestoreMarkers ? `restore ${otherHolder.clearsRestoreMarkers}'s markers` : `backup ${otherHolder.backupName}` } : undefined,
    markerHolder: marker
      ? { name: marker.name, uid: marker.uid, phase: marker.phase || 'Pending', creationTimestamp: marker.creationTimestamp, ...(marker.waiting ? { waiting: marker.waiting } : {}) }
      : undefined,
    backup: ownBackup(deps, key, request.backupName),
    backupVolumes: deps.cache.podVolumeBackupsOf(request.backupName),
    safety: ownBackup(deps, key, safetyName),
    safetyVolumes: safetyName ? deps.cache.podVolumeBackupsOf(safetyName) : [],
    restore: ownRestore,
    restoreVolumes: ownRestore ? deps.cache.podVolumeRestoresOf(request.restoreName) : [],
  };
}

async function reconcile(deps: RestoreRequestDeps, log: Logger, name: string, signal: AbortSignal): Promise<ReconcileResult> {
  if (!synced(deps) || !deps.index.synced() || !deps.holders.synced()) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  const record = deps.index.get(name);
  if (!record) return;
  const request = record.request;
  const step = restoreStep(record, world(deps, record, request));
  signal.throwIfAborted();
  const fields = { request: name, restore: request?.restoreName, step: step.kind };
  return run(deps, log.child(fields), record, request, step);
}

async function run(deps: RestoreRequestDeps, log: Logger, record: RestoreRequestRecord, request: RestoreRequest | undefined, step: RestoreStep): Promise<ReconcileResult> {
  switch (step.kind) {
    case 'wait':
      return { requeueAfterMs: step.ms };
    case 'advance':
      return progress(deps, log, record, { stage: step.stage, message: step.message, since: deps.now().toISOString() });
    case 'remove':
      if (await deps.requests.remove(record.name, record.uid)) log.info('restore request removed');
      return;
    case 'finish':
      return finish(deps, log, record, request, step.verdict);
  }
  if (!request) return;
  const { namespace, serviceId } = request.component;
  switch (step.kind) {
    case 'back-up-current-data': {
      const safety = request.safetyBackup;
      if (!safety) return;
      // The same check as for the API's at-rest requests: the controller creates the holder pod, so it runs only a Backup of exactly this component, with no commands.
      const refusal = atRestRequestRefusal(
        { component: { namespace, serviceId }, backup: safety },
        { isTenantNamespace: (ns) => deps.tenants.isTenantNamespace(ns), veleroNamespace: deps.settings.veleroNamespace },
      );
      if (refusal) return finish(deps, log, record, request, { phase: 'Failed', message: `the safety backup was refused (${refusal}): nothing was replaced` });
      const outcome = await backUpAtRest(deps.atRest, { serviceId, namespace, backup: safety, earlier: (live) => live.find((b) => b.metadata.name === safety.metadata.name) });
      log.info({ outcome: outcome.kind, safetyBackup: safety.metadata.name }, 'safety backup');
      if (outcome.kind === 'not-running') {
        // The holder goes the moment the component runs again (holder-sweep.ts): then that is the reason to give.
        const started = deps.registry.get(componentKey(namespace, serviceId));
        const what = started?.workload ?? started?.pods[0];
        const message = what
          ? `component ${started ? describeComponent(started.ref) : request.component.serviceAlias} was started (${what.kind} ${what.name}) after the restore was requested: nothing was changed; stop it and restore again`
          : `the safety backup's holder pod ${outcome.holder} did not run (${outcome.why}): nothing was replaced`;
        return finish(deps, log, record, request, { phase: 'Failed', message });
      }
      if (outcome.kind === 'claims-deleting') return finish(deps, log, record, request, { phase: 'Failed', message: `PVC ${outcome.claim} is being deleted (the component is being deleted): nothing was replaced` });
      if (outcome.kind === 'started' || outcome.kind === 'earlier') deps.cache.remember('backups', outcome.backup);
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    }
    case 'delete-claims':
      for (const claim of step.claims) {
        if (await deps.claims.remove(namespace, claim.name, claim.uid)) log.info({ claim: `${namespace}/${claim.name}` }, 'PVC deleted: Velero recreates it with the backup data');
      }
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    case 'create-restore': {
      const backup = deps.cache.backup(request.backupName);
      if (!backup) return { requeueAfterMs: CONFLICT_RETRY_MS };
      const restore = buildRestore({
        name: request.restoreName,
        veleroNamespace: deps.settings.veleroNamespace,
        component: { namespace, serviceId },
        backup,
        operator: request.operator,
        ...(request.safetyBackup ? { safetyBackupName: request.safetyBackup.metadata.name } : {}),
        ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
        ...(request.requestDigest !== undefined ? { requestDigest: request.requestDigest } : {}),
      });
      try {
        deps.cache.remember('restores', await deps.store.create(restore));
        log.info({ backup: request.backupName }, 'Velero Restore created');
      } catch (err) {
        // Created by an earlier try whose answer was lost: the next step finds it in the cache.
        if (!(err instanceof AlreadyExists)) throw err;
      }
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    }
    case 'clear-markers': {
      const live = deps.registry.get(componentKey(namespace, serviceId))?.claims ?? [];
      const labels = live.find((c) => c.name === step.claims[0]?.name)?.labels ?? {};
      const pod = restoreMarkerPod({ serviceId, namespace, componentLabels: labels, claims: step.claims, restoreName: request.restoreName, image: await deps.atRest.holderImage() });
      let created: 'created' | 'exists';
      try {
        created = await deps.atRest.holders.create(pod);
      } catch (err) {
        // Refused for good (a pod security admission that forbids its root init container, a quota): the data is restored all the same.
        // The port's errors carry the HTTP status (src/kube/kube-http.ts KubeHttpError); anything else, or a 5xx/429, is retried.
        const status = (err as { status?: unknown }).status;
        if (typeof status !== 'number' || status >= 500 || status === 429) throw err;
        return finish(deps, log, record, request, note(step.verdict, `the .velero folders Velero left in ${step.claims.map((c) => c.name).join(', ')} were not removed: the marker holder was refused (${(err as Error).message})`));
      }
      log.info({ claims: step.claims.map((c) => c.name), created }, 'marker holder: removing the .velero folders Velero left in the restored volumes');
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    }
    case 'clean-up':
      for (const pod of step.pods) {
        if (await deps.atRest.holders.remove(namespace, pod.name, pod.uid)) log.info({ pod: `${namespace}/${pod.name}` }, 'pod Velero restored deleted: the component is stopped on the restored data');
      }
      return { requeueAfterMs: CONFLICT_RETRY_MS };
  }
}

async function finish(deps: RestoreRequestDeps, log: Logger, record: RestoreRequestRecord, request: RestoreRequest | undefined, verdict: RestoreVerdict): Promise<ReconcileResult> {
  const restore = request ? deps.cache.restore(request.restoreName) : undefined;
  if (request && restore) {
    // On the Restore itself, so records keep the verdict after the request record is gone.
    const patched = await deps.store.patch('restores', request.restoreName, { metadata: { annotations: { [VELERO_ANNOTATION.restoreVerdict]: JSON.stringify(verdict) } } });
    deps.cache.remember('restores', patched);
  }
  const level = verdict.phase === 'Failed' ? 'warn' : 'info';
  log[level]({ verdict: verdict.phase, why: verdict.message }, 'restore finished');
  return progress(deps, log, record, { stage: verdict.phase, message: verdict.message, since: deps.now().toISOString() });
}

async function progress(deps: RestoreRequestDeps, log: Logger, record: RestoreRequestRecord, next: RestoreProgress): Promise<ReconcileResult> {
  const written = await deps.requests.write(record.name, progressPatch(record.resourceVersion, next));
  if (written.kind === 'gone') return;
  if (written.kind === 'conflict') return { requeueAfterMs: CONFLICT_RETRY_MS };
  const updated = readRestoreRequest(written.record);
  if (updated) deps.index.upsert(updated);
  log.info({ stage: next.stage, message: next.message }, 'restore stage');
  return { requeueAfterMs: 0 };
}

/** The restore loop; `resyncMs` is CONTROLLER_RESYNC. */
export function restoreRequestLoop(deps: RestoreRequestDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'restore-requests' });
  const queue = new WorkQueue((name, signal) => reconcile(deps, log, name, signal), { name: 'restore-requests', concurrency: CONCURRENCY }, log);
  return {
    queue,
    keys: () => deps.index.names(),
    resyncMs,
    watch: () => deps.index.subscribe((name) => queue.add(name)),
  };
}
