import { conflict, notFound } from '../api-error.js';
import type { Component } from '../../components/component.js';
import { DEFAULT_BACKUP_TTL, type BackupTtl } from '../../velero/backup-ttl.js';
import { scheduleName } from '../../velero/object-names.js';
import { buildSchedule, scheduleUpdatePatch } from '../../velero/schedule-object.js';
import { VELERO_LABEL } from '../../velero/velero-labels.js';
import { viewSchedule, type ScheduleView } from '../../velero/velero-views.js';
import { scheduleRecord, type BackupSchedule } from '../records/schedule-record.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { requireVelero } from './component-context.js';
import { defined } from './create-named.js';
import { AlreadyExists } from './ports.js';

export interface ScheduleRequest {
  cron: string;
  ttl?: BackupTtl;
  desc: string;
  operator: string;
}

/**
 * The component's schedule, found by label rather than by name, so one made
 * by the region API (named <service_id>) is seen too.
 */
async function liveSchedules(deps: BackupApiDeps, serviceId: string): Promise<ScheduleView[]> {
  return (await deps.store.list('schedules', `${VELERO_LABEL.serviceId}=${serviceId}`)).map(viewSchedule).filter(defined);
}

export function getSchedule(deps: BackupApiDeps, component: Component): BackupSchedule | null {
  requireVelero(deps);
  const [schedule] = deps.cache.schedulesOf(component.serviceId);
  // The region API answers {"bean": null} when there is none; the console expects that.
  return schedule ? scheduleRecord(schedule) : null;
}

/** POST …/backup/schedule: one schedule per component; its name is fixed, so two concurrent creates cannot both succeed. */
export async function createSchedule(deps: BackupApiDeps, component: Component, request: ScheduleRequest): Promise<BackupSchedule> {
  requireVelero(deps);
  if (component.volumeClaims.length === 0) throw conflict(`component ${component.ref.serviceAlias} has no persistent volume claims: there is no data to back up`, 'no_volumes');
  return deps.lock.withLock(component.serviceId, async () => {
    const [existing] = await liveSchedules(deps, component.serviceId);
    if (existing) throw conflict(`component ${component.ref.serviceAlias} already has a backup schedule (${existing.metadata.name}): change it with PUT`, 'schedule_exists');
    try {
      const created = await deps.store.create(
        buildSchedule({
          name: scheduleName(component.serviceId),
          veleroNamespace: deps.settings.veleroNamespace,
          storageLocation: deps.settings.storageLocation,
          serviceId: component.serviceId,
          componentNamespace: component.namespace,
          cron: request.cron,
          ttl: request.ttl ?? DEFAULT_BACKUP_TTL,
          desc: request.desc,
          operator: request.operator,
        }),
      );
      deps.cache.remember('schedules', created);
      const view = viewSchedule(created);
      if (!view) throw new Error('the API server answered the Schedule create with no object');
      return scheduleRecord(view);
    } catch (err) {
      if (err instanceof AlreadyExists) throw conflict(`component ${component.ref.serviceAlias} already has a backup schedule: change it with PUT`, 'schedule_exists');
      throw err;
    }
  });
}

export async function updateSchedule(deps: BackupApiDeps, component: Component, request: ScheduleRequest): Promise<BackupSchedule> {
  requireVelero(deps);
  return deps.lock.withLock(component.serviceId, async () => {
    const [existing] = await liveSchedules(deps, component.serviceId);
    if (!existing) throw notFound(`component ${component.ref.serviceAlias} has no backup schedule: create one with POST`);
    const patched = await deps.store.patch(
      'schedules',
      existing.metadata.name,
      scheduleUpdatePatch({ cron: request.cron, ttl: request.ttl ?? DEFAULT_BACKUP_TTL, desc: request.desc, operator: request.operator }),
    );
    deps.cache.remember('schedules', patched);
    const view = viewSchedule(patched);
    if (!view) throw new Error('the API server answered the Schedule patch with no object');
    return scheduleRecord(view);
  });
}

/** DELETE …/backup/schedule: succeeds when there is none, as the region API does. Backups it made stay. */
export async function deleteSchedule(deps: BackupApiDeps, component: Component): Promise<void> {
  requireVelero(deps);
  await deps.lock.withLock(component.serviceId, async () => {
    for (const schedule of await liveSchedules(deps, component.serviceId)) {
      await deps.store.remove('schedules', schedule.metadata.name);
      deps.cache.forget('schedules', schedule.metadata.name);
    }
  });
}
