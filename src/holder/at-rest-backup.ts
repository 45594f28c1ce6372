// "Back up data at rest": the backup of a stopped component, run by the
// controller alone, for its backup on stop and for the API's POST …/backup,
// which hands its request over through a record (at-rest-request.ts) because
// the API may create no pod. Under the
// component's lock: no unfinished backup and no holder → create the holder
// (it names the Backup to come), then, outside the lock, wait (bounded) until
// it runs and create that Backup. The holder's fixed name is what keeps a
// second request out while the lock is released: it meets the holder and
// is refused. A holder that does not run in time is deleted and nothing is
// backed up; one left by a crash before its Backup is removed by the sweep.
import { liveBackupsOf } from '../velero/live-component-objects.js';
import type { Logger } from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroStore } from '../velero/velero-ports.js';
import type { ComponentLock } from '../components/component-lock.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import { EVENT_REASON } from '../controller/event-reasons.js';
import { formatDuration } from '../duration.js';
import { isUnfinishedBackup } from '../velero/backup-phases.js';
import { componentKey } from '../components/component-key.js';
import { backupComponent } from '../velero/velero-scope.js';
import { DATA_STATE, VELERO_ANNOTATION } from '../velero/velero-labels.js';
import type { VeleroObject } from '../velero/velero-resources.js';
import { viewBackup, type BackupView } from '../velero/velero-views.js';
import { holderPod, holderPodName, HOLDER_MOUNT_ROOT } from './holder-pod.js';
import type { HolderPods, LiveClaim } from './holder-ports.js';
import { isHolderRunning, type HolderPodView } from './holder-view.js';

export interface AtRestSettings {
  /** How long the holder may take to run (image pull, scheduling, volume attach) before it is deleted and the backup refused. */
  holderStartTimeoutMs: number;
  holderPollMs: number;
}

export interface AtRestDeps {
  holders: HolderPods;
  store: VeleroStore;
  cache: VeleroCache;
  lock: ComponentLock;
  events: EventRecorder;
  /** The holder's image: HOLDER_IMAGE, else this process's own (see src/kube/holder-image.ts). */
  holderImage: () => Promise<string>;
  settings: AtRestSettings;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
}

export interface AtRestRequest {
  serviceId: string;
  namespace: string;
  /** The Backup to create once the holder runs (buildBackup's); marked as data at rest here. */
  backup: VeleroObject;
  /** An earlier try of this same request among the component's live Backups (its Idempotency-Key, or its deterministic name): answered with, nothing created. */
  earlier: (live: readonly BackupView[]) => BackupView | undefined;
}

export type AtRestOutcome =
  | { kind: 'started'; backup: BackupView; holder: string }
  | { kind: 'earlier'; backup: BackupView }
  | { kind: 'unfinished'; backup: BackupView }
  | { kind: 'holder-busy'; holder: string; serving: string }
  | { kind: 'no-claims' }
  | { kind: 'claims-deleting'; claim: string }
  | { kind: 'not-running'; holder: string; why: string };

/** The annotation that tells records (and anyone with kubectl) this Backup holds crash-consistent data at rest. */
export function markedAtRest(backup: VeleroObject): VeleroObject {
  return { ...backup, metadata: { ...backup.metadata, annotations: { ...backup.metadata.annotations, [VELERO_ANNOTATION.dataState]: DATA_STATE.atRest } } };
}

export function isAtRestBackup(backup: BackupView): boolean {
  return backup.metadata.annotations[VELERO_ANNOTATION.dataState] === DATA_STATE.atRest;
}

type Prepared = { kind: 'holder'; holder: HolderPodView | undefined; claims: LiveClaim[] } | Exclude<AtRestOutcome, { kind: 'started' } | { kind: 'not-running' }>;

export async function backUpAtRest(deps: AtRestDeps, request: AtRestRequest): Promise<AtRestOutcome> {
  const { serviceId, namespace } = request;
  const holderName = holderPodName(serviceId);
  const backupName = request.backup.metadata.name;
  const log = deps.log.child({ serviceId, holder: `${namespace}/${holderName}`, backup: backupName });

  const component = componentKey(namespace, serviceId);
  const prepared = await deps.lock.withLock<Prepared>(component, async () => {
    // Live, not the cache: another replica's Backup of a moment ago must count; another namespace's never does.
    const live = await liveBackupsOf(deps.store, component);
    const earlier = request.earlier(live);
    if (earlier) return { kind: 'earlier', backup: earlier };
    const unfinished = live.find(isUnfinishedBackup);
    if (unfinished) return { kind: 'unfinished', backup: unfinished };
    const existing = await deps.holders.get(namespace, holderName);
    if (existing) return { kind: 'holder-busy', holder: holderName, serving: existing.restoreName ? `restore ${existing.restoreName}` : `backup ${existing.backupName}` };
    const claims = (await deps.holders.claimsOf(namespace, serviceId)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const deleting = claims.find((c) => c.deletionTimestamp !== undefined);
    // A pod cannot mount a PVC that is being deleted (the scheduler and the kubelet refuse it).
    if (deleting) return { kind: 'claims-deleting', claim: deleting.name };
    const [first] = claims;
    if (!first) return { kind: 'no-claims' };
    const pod = holderPod({ serviceId, namespace, componentLabels: first.labels, claims, backupName, image: await deps.holderImage() });
    if ((await deps.holders.create(pod)) === 'exists') return { kind: 'holder-busy', holder: holderName, serving: 'another request' };
    log.info({ claims: claims.map((c) => c.name) }, 'holder pod created');
    return { kind: 'holder', holder: undefined, claims };
  });
  if (prepared.kind !== 'holder') return prepared;

  const target = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: prepared.claims[0]?.name ?? '', uid: prepared.claims[0]?.uid ?? '' };
  const running = await waitUntilRunning(deps, namespace, holderName);
  if (!running.ok) {
    if (running.holder) await deps.holders.remove(namespace, holderName, running.holder.uid);
    log.warn({ why: running.why }, 'holder pod did not run in time: removed, no backup');
    return { kind: 'not-running', holder: holderName, why: running.why };
  }
  await deps.events.record(
    target,
    'Normal',
    EVENT_REASON.holderStarted,
    `Holder pod ${holderName} started for Backup ${backupName}: mounts ${prepared.claims.map((c) => c.name).join(', ')} read-only under ${HOLDER_MOUNT_ROOT}/ so Velero can copy the data at rest`,
  );

  let created: unknown;
  try {
    created = await deps.store.create(markedAtRest(request.backup));
  } catch (err) {
    if (err instanceof AlreadyExists) {
      const same = viewBackup(await deps.store.get('backups', backupName));
      // Only this component's own earlier try: a name taken by another namespace's Backup is no answer to give.
      if (same && backupComponent(same) === component) return { kind: 'earlier', backup: same };
    }
    // No Backup will read through it: do not leave it for the sweep.
    await deps.holders.remove(namespace, holderName, running.holder.uid).catch(() => false);
    throw err;
  }
  deps.cache.remember('backups', created);
  const view = viewBackup(created);
  if (!view) throw new Error('the API server answered the Backup create with no object');
  log.info('backup of data at rest created');
  return { kind: 'started', backup: view, holder: holderName };
}

async function waitUntilRunning(deps: AtRestDeps, namespace: string, name: string): Promise<{ ok: true; holder: HolderPodView } | { ok: false; holder: HolderPodView | undefined; why: string }> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + deps.settings.holderStartTimeoutMs;
  let last: HolderPodView | undefined;
  for (;;) {
    last = await deps.holders.get(namespace, name);
    if (!last) return { ok: false, holder: undefined, why: 'it was deleted before it ran' };
    if (isHolderRunning(last)) return { ok: true, holder: last };
    if (last.phase === 'Failed' || last.phase === 'Succeeded' || last.deletionTimestamp !== undefined) break;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(deps.settings.holderPollMs, Math.max(0, deadline - Date.now())));
  }
  const state = `${last.phase || 'Pending'}${last.waiting ? `: ${last.waiting}` : ''}`;
  return { ok: false, holder: last, why: last.phase === 'Failed' || last.phase === 'Succeeded' ? `it ended ${state}` : `it was not Running within ${formatDuration(deps.settings.holderStartTimeoutMs)} (${state})` };
}
