import { conflict, notFound } from '../api-error.js';
import { liveBackupsOf } from '../../velero/live-component-objects.js';
import type { Component, ComponentRef } from '../../components/component.js';
import { backupRoute } from '../../components/component-state.js';
import type { VeleroObject } from '../../velero/velero-resources.js';
import type { Idempotency } from './idempotency.js';
import { buildBackup } from '../../velero/backup-object.js';
import { isUnfinishedBackup } from '../../velero/backup-phases.js';
import { DEFAULT_BACKUP_TTL, type BackupTtl } from '../../velero/backup-ttl.js';
import { buildDeleteBackupRequest } from '../../velero/delete-backup-request.js';
import { manualBackupName, deleteBackupRequestName } from '../../velero/object-names.js';
import { VELERO_LABEL, veleroLabelValue } from '../../velero/velero-labels.js';
import { backupComponent } from '../../velero/velero-scope.js';
import type { ComponentKey } from '../../components/component-key.js';
import { viewBackup, viewDeleteBackupRequest, type BackupView } from '../../velero/velero-views.js';
import { backupRecord, type BackupRecord } from '../records/backup-record.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { requireVelero } from './component-context.js';
import { componentPath, downloadPath } from './component-path.js';
import { GoJsonText, goJsonText } from '../go-json.js';
import { earlierTry, idempotencyOf } from './idempotency.js';
import { defined } from '../../defined.js';
import { createNamed } from './create-named.js';
import { atRestAnswer } from './at-rest-answer.js';
import { handOffAtRest } from './at-rest-handoff.js';
import { unfinishedBackup } from './unfinished-backup.js';
import { refuseReadOnlyLocation, refuseWhileRestoring } from './deletion-guards.js';
import { stuckDeletion, stuckDeletionText } from '../../velero/deletion-retry.js';

export interface CreateBackupRequest {
  desc: string;
  ttl?: BackupTtl;
  operator: string;
  serviceId?: string;
  idempotencyKey?: string;
  /** The body as received, for the idempotency digest. */
  body: unknown;
}

export interface Created<T> {
  value: T;
  /** True when an earlier try with the same Idempotency-Key had already created it. */
  replayed: boolean;
}

/**
 * Rendered records by the cached view they were made from (a new version of
 * a Backup is a new view object, so an entry never outlives its view), with
 * what else the record depends on: its PodVolumeBackups' versions, a pending
 * deletion, the route. A records page of 1,000 is then a join of strings
 * instead of 1,000 records built and serialised on every request.
 */
const rendered = new WeakMap<BackupView, { depends: string; json: GoJsonText }>();

export function renderedRecordOf(deps: BackupApiDeps, ref: ComponentRef, backup: BackupView): GoJsonText {
  const volumes = deps.cache.podVolumeBackupsOf(backup.metadata.name);
  const deletions = deps.cache.deleteRequestsFor(backup.metadata.name);
  const depends = [componentPath(ref), ...volumes.map((v) => `${v.metadata.name}@${v.metadata.resourceVersion}`), ...deletions.map((d) => `${d.metadata.name}@${d.metadata.resourceVersion}`)].join('|');
  const held = rendered.get(backup);
  if (held?.depends === depends) return held.json;
  const json = new GoJsonText(goJsonText(recordOf(deps, ref, backup)));
  rendered.set(backup, { depends, json });
  return json;
}

export function recordOf(deps: BackupApiDeps, ref: ComponentRef, backup: BackupView): BackupRecord {
  // Deletion requested but not yet picked up by Velero (which then sets phase Deleting itself):
  // show it as Deleting at once, and never offer to restore or download what is going away.
  const deleting = backup.status.phase !== 'Deleting' && deps.cache.deleteRequestsFor(backup.metadata.name).some((r) => r.status.phase !== 'Processed');
  const shown = deleting ? { ...backup, status: { ...backup.status, phase: 'Deleting' } } : backup;
  const record = backupRecord(shown, deps.cache.podVolumeBackupsOf(backup.metadata.name), '');
  // A deletion Velero gave up on leaves the Backup Deleting for good (deletion-retry.ts): say so, and why.
  const stuck = stuckDeletion(backup, deps.cache.deleteRequestsFor(backup.metadata.name));
  if (stuck) return { ...record, failure_reason: stuckDeletionText(stuck) };
  return record.restorable ? { ...record, download_url: downloadPath(ref, backup.metadata.name) } : record;
}

/**
 * POST …/backup. The unfinished-backup check and the create run under the
 * component's lock, against a live list (not the cache, which may not have
 * seen another replica's create yet): of any number of concurrent requests
 * on any number of replicas, one creates a Backup and the others get 409.
 * A stopped component is backed up at rest, through a holder pod.
 */
export async function createBackup(deps: BackupApiDeps, component: Component, request: CreateBackupRequest): Promise<Created<BackupRecord>> {
  requireVelero(deps);
  const route = backupRoute(component);
  if (route.kind === 'blocked') throw conflict(route.reason, route.code);
  refuseReadOnlyLocation(deps, deps.settings.storageLocation, 'a new backup');
  const idempotency = idempotencyOf(request.idempotencyKey, 'POST backup', component.key, request.body);
  // Answered from the cache when it already knows: a retry whose first try
  // is cached, or a backup visibly unfinished. The cache can miss a create
  // from a moment ago, never invent one, so the decision to create is made
  // under the lock, on a live list.
  const fromCache = (): Created<BackupRecord> | undefined => {
    const cached = deps.cache.backupsOf(component.key);
    const replay = earlierTry(cached, idempotency);
    if (replay) return { value: recordOf(deps, component.ref, replay), replayed: true };
    const visiblyUnfinished = cached.find(isUnfinishedBackup);
    if (visiblyUnfinished) throw unfinishedBackup(component.ref.serviceAlias, visiblyUnfinished);
    return undefined;
  };
  const early = fromCache();
  if (early) return early;
  const build = (random: string): VeleroObject =>
    buildBackup({
      name: manualBackupName(component.serviceId, deps.now(), random),
      veleroNamespace: deps.settings.veleroNamespace,
      storageLocation: deps.settings.storageLocation,
      serviceId: component.serviceId,
      componentNamespace: component.namespace,
      ttl: request.ttl ?? DEFAULT_BACKUP_TTL,
      desc: request.desc,
      operator: request.operator,
      ...(idempotency ? { idempotencyKey: idempotency.key, requestDigest: idempotency.digest } : {}),
    });
  if (route.kind === 'at-rest') return createAtRest(deps, component, build(deps.random()), idempotency);
  return deps.lock.withLock(component.key, async () => {
    const existing = await liveBackupsOf(deps.store, component.key);
    const earlier = earlierTry(existing, idempotency);
    if (earlier) return { value: recordOf(deps, component.ref, earlier), replayed: true };
    const unfinished = existing.find(isUnfinishedBackup);
    if (unfinished) throw unfinishedBackup(component.ref.serviceAlias, unfinished);
    const created = await createNamed(deps, build);
    deps.cache.remember('backups', created);
    const view = viewBackup(created);
    if (!view) throw new Error('the API server answered the Backup create with no object');
    return { value: recordOf(deps, component.ref, view), replayed: false };
  }, fromCache);
}

/**
 * A stopped component: handed to the controller through a request record
 * (the API makes no pod), which makes the holder pod and, once it runs, the
 * Backup; each way it can go answered as the console needs to hear it.
 */
async function createAtRest(deps: BackupApiDeps, component: Component, backup: VeleroObject, idempotency: Idempotency | undefined): Promise<Created<BackupRecord>> {
  const handed = await handOffAtRest(deps, component, backup, idempotency);
  const answer = atRestAnswer(handed.outcome, { serviceAlias: component.ref.serviceAlias, namespace: component.namespace, ...handed });
  if (answer.kind === 'error') throw answer.error;
  deps.cache.remember('backups', answer.backup);
  return { value: recordOf(deps, component.ref, answer.backup), replayed: answer.replayed };
}

export interface RecordPage<T> {
  items: T[];
  /** Set when more records follow: pass it as ?continue= for the next page. */
  continueToken?: string;
}

/** Newest first, as the region API sorts (creationTimestamp, then name for a stable order). */
export function newestFirst<T extends { metadata: { creationTimestamp: string; name: string } }>(a: T, b: T): number {
  if (a.metadata.creationTimestamp !== b.metadata.creationTimestamp) return a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1;
  return a.metadata.name < b.metadata.name ? 1 : a.metadata.name > b.metadata.name ? -1 : 0;
}

/**
 * A page of `sorted` after the position a continue token names. The token
 * holds the last item's sort key, not an offset, so a backup created
 * between two pages neither repeats nor skips a record.
 */
export function page<T extends { metadata: { creationTimestamp: string; name: string } }>(sorted: readonly T[], limit: number | undefined, continueToken: string | undefined): { items: T[]; next?: string } {
  let start = 0;
  if (continueToken !== undefined) {
    const after = decodeToken(continueToken);
    start = sorted.findIndex((item) => newestFirst(item, { metadata: after }) > 0);
    if (start < 0) start = sorted.length;
  }
  const end = limit === undefined ? sorted.length : Math.min(sorted.length, start + limit);
  const items = sorted.slice(start, end);
  const last = items[items.length - 1];
  return end < sorted.length && last ? { items, next: encodeToken(last.metadata) } : { items };
}

function encodeToken(meta: { creationTimestamp: string; name: string }): string {
  return Buffer.from(JSON.stringify([meta.creationTimestamp, meta.name])).toString('base64url');
}

/** Validated by the request schema (isContinueToken) before it gets here. */
function decodeToken(token: string): { creationTimestamp: string; name: string } {
  const [creationTimestamp, name] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [string, string];
  return { creationTimestamp, name };
}

export function isContinueToken(token: string): boolean {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string');
  } catch {
    return false;
  }
}

/** GET …/backup/records, from the caches: no API call per record. */
export function listBackupRecords(deps: BackupApiDeps, component: Component, limit?: number, continueToken?: string): RecordPage<GoJsonText> {
  requireVelero(deps);
  const sorted = [...deps.cache.backupsOf(component.key)].sort(newestFirst);
  const { items, next } = page(sorted, limit, continueToken);
  return { items: items.map((backup) => renderedRecordOf(deps, component.ref, backup)), ...(next ? { continueToken: next } : {}) };
}

/**
 * The component's backup `name`, or 404: never act on another component's
 * backup. Its scope (the one namespace it includes) and its service_id label
 * must both be the component's (velero-scope.ts): the label alone is any
 * tenant's to write. Another's backup answers exactly like no backup.
 */
export async function ownBackup(deps: BackupApiDeps, component: ComponentKey, name: string): Promise<BackupView> {
  const backup = deps.cache.backup(name) ?? viewBackup(await deps.store.get('backups', name));
  if (!backup || backupComponent(backup) !== component) throw notFound(`backup ${name} not found for this component`);
  return backup;
}

export interface DeletionState {
  backup_id: string;
  delete_request: string;
  status: string;
}

/**
 * DELETE …/backup/{id}: a DeleteBackupRequest, so Velero removes the data in
 * object storage too (deleting the Backup object alone would orphan it). A
 * second DELETE while one is pending answers with that one.
 */
export async function deleteBackup(deps: BackupApiDeps, component: Component, backupId: string): Promise<DeletionState> {
  requireVelero(deps);
  const backup = await ownBackup(deps, component.key, backupId);
  if (isUnfinishedBackup(backup)) throw conflict(`backup ${backupId} is still ${backup.status.phase || 'New'}: Velero deletes a backup only once it has finished`, 'backup_in_progress');
  // Velero checks the backup's own location (backup_deletion_controller.go L184-206), not the one new backups go to.
  refuseReadOnlyLocation(deps, backup.spec.storageLocation ?? deps.settings.storageLocation, 'deleting a backup');
  return deps.lock.withLock(component.key, async () => {
    await refuseWhileRestoring(deps, backupId);
    const requests = (await deps.store.list('deletebackuprequests', `${VELERO_LABEL.backupName}=${veleroLabelValue(backupId)}`)).map(viewDeleteBackupRequest).filter(defined);
    const pending = requests.find((r) => r.status.phase !== 'Processed');
    if (pending) return { backup_id: backupId, delete_request: pending.metadata.name, status: pending.status.phase || 'New' };
    const created = await createNamed(deps, (random) =>
      buildDeleteBackupRequest({ name: deleteBackupRequestName(backupId, random), veleroNamespace: deps.settings.veleroNamespace, backup }),
    );
    deps.cache.remember('deletebackuprequests', created);
    const view = viewDeleteBackupRequest(created);
    return { backup_id: backupId, delete_request: view?.metadata.name ?? '', status: view?.status.phase || 'New' };
  });
}
