// One Schedule per component. Its template is buildBackup's spec (one function
// makes both), so a scheduled Backup and a manual one back up the same thing.
// Velero copies the Schedule's labels onto each Backup it makes and adds
// velero.io/schedule-name: that is how records tell Scheduled from Manual.
// template.metadata stays unset on purpose: when it has labels, newer Velero
// uses those instead of the Schedule's (pkg/builder BackupBuilder.FromSchedule).
import type { BackupTtl } from './backup-ttl.js';
import { backupLabels, backupSpec } from './backup-object.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';
import { quietCronStatus } from './schedule-cron-change.js';
import type { ScheduleView } from './velero-views.js';

export interface ScheduleInput {
  name: string;
  veleroNamespace: string;
  storageLocation: string;
  serviceId: string;
  componentNamespace: string;
  cron: string;
  ttl: BackupTtl;
  desc: string;
  operator: string;
  /** Ours, beside the Backup labels (schedule source): Velero copies them onto each Backup too. */
  labels?: Record<string, string>;
  /** Ours (rule, keep). */
  annotations?: Record<string, string>;
  /** Created paused: a stopped component's data cannot change. */
  paused?: boolean;
}

export function buildSchedule(input: ScheduleInput): VeleroObject {
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.schedules,
    metadata: {
      name: input.name,
      namespace: input.veleroNamespace,
      labels: { ...backupLabels(input), ...input.labels },
      annotations: { [VELERO_ANNOTATION.desc]: input.desc, [VELERO_ANNOTATION.creator]: input.operator, ...input.annotations },
    },
    spec: { schedule: input.cron, ...(input.paused === true ? { paused: true } : {}), template: backupSpec(input) },
  };
}

/**
 * JSON merge patch (application/merge-patch+json) for PUT /backup/schedule:
 * what the region API's update changes (cron, TTL, desc, last modifier),
 * plus defaultVolumesToFsBackup false (see backupSpec), nothing else, so
 * Velero's status and other fields are left alone, except status.lastBackup
 * when the new cron would make Velero back up at once (schedule-cron-change.ts).
 * The creator stays who created it.
 */
export function scheduleUpdatePatch(existing: ScheduleView, now: Date, change: {
  cron: string;
  ttl: BackupTtl;
  desc: string;
  operator: string;
  /** Ours (schedule source); null removes one. */
  labels?: Record<string, string | null>;
  /** Ours (rule, keep); null removes one. */
  annotations?: Record<string, string | null>;
}): Record<string, unknown> {
  const status = quietCronStatus(existing, change.cron, now);
  return {
    metadata: {
      labels: { [VELERO_LABEL.backupTtl]: change.ttl.label, ...change.labels },
      annotations: { [VELERO_ANNOTATION.desc]: change.desc, [VELERO_ANNOTATION.lastModifier]: change.operator, ...change.annotations },
    },
    // A Schedule made before Backups read the webhook's include list is brought to it on its next update.
    spec: { schedule: change.cron, template: { ttl: change.ttl.spec, defaultVolumesToFsBackup: false } },
    ...(status !== undefined ? { status } : {}),
  };
}
