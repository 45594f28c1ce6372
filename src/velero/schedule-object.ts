// One Schedule per component. Its template is buildBackup's spec (one function
// makes both), so a scheduled Backup and a manual one back up the same thing.
// Velero copies the Schedule's labels onto each Backup it makes and adds
// velero.io/schedule-name: that is how records tell Scheduled from Manual.
// It copies every annotation too (v1.11.1 pkg/builder/backup_builder.go
// L112-114), so a Schedule carries only SCHEDULE_ANNOTATIONS.
// template.metadata stays unset on purpose: when it has labels, newer Velero
// uses those instead of the Schedule's (pkg/builder BackupBuilder.FromSchedule).
import type { BackupTtl } from './backup-ttl.js';
import { backupLabels, backupSpec } from './backup-object.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';
import { quietCronStatus } from './schedule-cron-change.js';
import type { ScheduleView } from './velero-views.js';

/**
 * Every annotation a Schedule of ours carries, each read on the Schedule:
 * desc, creator, last modifier by the schedule record (the console's
 * BackupSchedule), rule by the policy side (which rule protects a stopped
 * component), keep by retention. On each Backup Velero copies them to, desc
 * and creator are what the backup record shows (desc, operator), as with
 * the region API's Schedules; rule, keep and last modifier are read from no
 * Backup. Nothing a Backup reader takes as the Backup's own (its data
 * state, coverage, announced phase, request digest, safety links) is ever
 * put on a Schedule: every scheduled Backup would carry it.
 */
export const SCHEDULE_ANNOTATIONS = [
  VELERO_ANNOTATION.desc,
  VELERO_ANNOTATION.creator,
  VELERO_ANNOTATION.lastModifier,
  VELERO_ANNOTATION.scheduleRule,
  VELERO_ANNOTATION.keep,
] as const;

/** Ours beyond desc, creator and last modifier (which the builders set from the request). */
type OwnScheduleAnnotation = typeof VELERO_ANNOTATION.scheduleRule | typeof VELERO_ANNOTATION.keep;

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
  annotations?: Partial<Record<OwnScheduleAnnotation, string>>;
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
  /** Ours (rule, keep), and the creator when the API takes a policy Schedule over; null removes one. */
  annotations?: Partial<Record<OwnScheduleAnnotation | typeof VELERO_ANNOTATION.creator, string | null>>;
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
