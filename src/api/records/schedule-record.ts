// A component's backup schedule as the region API's BackupSchedule serialises
// it (keys in the Go struct's order).
import { VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';
import type { ScheduleView } from '../../velero/velero-views.js';
import { ttlText } from './record-format.js';

export interface BackupSchedule {
  schedule_id: string;
  service_id: string;
  desc: string;
  ttl: string;
  cron: string;
  creator: string;
  last_modifier: string;
}

export function scheduleRecord(schedule: ScheduleView): BackupSchedule {
  const { labels, annotations } = schedule.metadata;
  return {
    schedule_id: schedule.metadata.name,
    service_id: labels[VELERO_LABEL.serviceId] ?? '',
    desc: annotations[VELERO_ANNOTATION.desc] ?? '',
    ttl: ttlText(labels[VELERO_LABEL.backupTtl], schedule.spec.template.ttl),
    cron: schedule.spec.schedule,
    creator: annotations[VELERO_ANNOTATION.creator] ?? '',
    last_modifier: annotations[VELERO_ANNOTATION.lastModifier] ?? '',
  };
}
