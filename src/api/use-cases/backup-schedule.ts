import { conflict, notFound } from '../api-error.js';
import { liveSchedulesOf } from '../../velero/live-component-objects.js';
import type { Component } from '../../components/component.js';
import { DEFAULT_BACKUP_TTL, type BackupTtl } from '../../velero/backup-ttl.js';
import { scheduleName } from '../../velero/object-names.js';
import { buildSchedule, scheduleUpdatePatch } from '../../velero/schedule-object.js';
import { componentSchedule, scheduleSource } from '../../velero/schedule-source.js';
import { SCHEDULE_SOURCE, VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';
import { viewSchedule, type ScheduleView } from '../../velero/velero-views.js';
import { scheduleRecord, type BackupSchedule } from '../records/schedule-record.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { requireVelero } from './component-context.js';
import { AlreadyExists } from '../../velero/velero-ports.js';

// A schedule set here overrides the policy's for the component: the
// controller never changes or deletes a Schedule of source api (it only
// pauses it while the component is stopped). A Schedule the policy made is
// taken over by POST and PUT alike, as if there had been none; DELETE
// removes whichever there is, after which the policy may make its own again.

export interface ScheduleRequest {
  cron: string;
  ttl?: BackupTtl;
  desc: string;
  operator: string;
  /** Completed backups retention keeps; absent: none set on create, unchanged on update. */
  keep?: number;
}

export function getSchedule(deps: BackupApiDeps, component: Component): BackupSchedule | null {
  requireVelero(deps);
  const schedule = componentSchedule(deps.cache.schedulesOf(component.key));
  // The region API answers {"bean": null} when there is none; the console expects that.
  return schedule ? scheduleRecord(schedule) : null;
}

/**
 * Makes `existing` the API's with the request's settings. Taking over a
 * policy Schedule drops its rule and its keep (they were the policy's) and
 * records the requester as its creator; an API one keeps its keep unless the
 * request sets one.
 */
async function writeApiSchedule(deps: BackupApiDeps, existing: ScheduleView, request: ScheduleRequest): Promise<BackupSchedule> {
  const takeover = scheduleSource(existing) === SCHEDULE_SOURCE.policy;
  const keep = request.keep !== undefined ? String(request.keep) : takeover ? null : undefined;
  const patch = scheduleUpdatePatch(existing, new Date(), {
    cron: request.cron,
    ttl: request.ttl ?? DEFAULT_BACKUP_TTL,
    desc: request.desc,
    operator: request.operator,
    ...(takeover ? { labels: { [VELERO_LABEL.scheduleSource]: SCHEDULE_SOURCE.api } } : {}),
    annotations: {
      ...(takeover ? { [VELERO_ANNOTATION.scheduleRule]: null, [VELERO_ANNOTATION.creator]: request.operator } : {}),
      ...(keep !== undefined ? { [VELERO_ANNOTATION.keep]: keep } : {}),
    },
  });
  // No version precondition here: the controller's own patches of a policy
  // Schedule carry one, so whichever lands second, the API's settings stay.
  const patched = await deps.store.patch('schedules', existing.metadata.name, patch);
  deps.cache.remember('schedules', patched);
  const view = viewSchedule(patched);
  if (!view) throw new Error('the API server answered the Schedule patch with no object');
  return scheduleRecord(view);
}

/** POST …/backup/schedule: one schedule per component; its name is fixed, so two concurrent creates cannot both succeed. */
export async function createSchedule(deps: BackupApiDeps, component: Component, request: ScheduleRequest): Promise<BackupSchedule> {
  requireVelero(deps);
  if (component.volumeClaims.length === 0) throw conflict(`component ${component.ref.serviceAlias} has no persistent volume claims: there is no data to back up`, 'no_volumes');
  const exists = (existing: ScheduleView) =>
    conflict(`component ${component.ref.serviceAlias} already has a backup schedule (${existing.metadata.name}): change it with PUT`, 'schedule_exists');
  return deps.lock.withLock(component.key, async () => {
    const existing = componentSchedule(await liveSchedulesOf(deps.store, component.key));
    if (existing) {
      if (scheduleSource(existing) === SCHEDULE_SOURCE.api) throw exists(existing);
      return writeApiSchedule(deps, existing, request);
    }
    try {
      const created = await deps.store.create(
        buildSchedule({
          name: scheduleName(component),
          veleroNamespace: deps.settings.veleroNamespace,
          storageLocation: deps.settings.storageLocation,
          serviceId: component.serviceId,
          componentNamespace: component.namespace,
          cron: request.cron,
          ttl: request.ttl ?? DEFAULT_BACKUP_TTL,
          desc: request.desc,
          operator: request.operator,
          labels: { [VELERO_LABEL.scheduleSource]: SCHEDULE_SOURCE.api },
          ...(request.keep !== undefined ? { annotations: { [VELERO_ANNOTATION.keep]: String(request.keep) } } : {}),
        }),
      );
      deps.cache.remember('schedules', created);
      const view = viewSchedule(created);
      if (!view) throw new Error('the API server answered the Schedule create with no object');
      return scheduleRecord(view);
    } catch (err) {
      if (!(err instanceof AlreadyExists)) throw err;
      // The controller may have made the policy's just now: take that over too.
      const raced = componentSchedule(await liveSchedulesOf(deps.store, component.key));
      if (raced && scheduleSource(raced) === SCHEDULE_SOURCE.policy) return writeApiSchedule(deps, raced, request);
      throw conflict(`component ${component.ref.serviceAlias} already has a backup schedule: change it with PUT`, 'schedule_exists');
    }
  });
}

export async function updateSchedule(deps: BackupApiDeps, component: Component, request: ScheduleRequest): Promise<BackupSchedule> {
  requireVelero(deps);
  return deps.lock.withLock(component.key, async () => {
    const existing = componentSchedule(await liveSchedulesOf(deps.store, component.key));
    if (!existing) throw notFound(`component ${component.ref.serviceAlias} has no backup schedule: create one with POST`);
    return writeApiSchedule(deps, existing, request);
  });
}

/** DELETE …/backup/schedule: succeeds when there is none, as the region API does. Backups it made stay. */
export async function deleteSchedule(deps: BackupApiDeps, component: Component): Promise<void> {
  requireVelero(deps);
  await deps.lock.withLock(component.key, async () => {
    for (const schedule of await liveSchedulesOf(deps.store, component.key)) {
      await deps.store.remove('schedules', schedule.metadata.name);
      deps.cache.forget('schedules', schedule.metadata.name);
    }
  });
}
