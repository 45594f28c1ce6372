// Who a Schedule belongs to. The policy side (the controller) makes and
// follows Schedules labelled source=policy; everything else was set by
// someone, through our API (source=api) or the region API through the
// console (no source label at all), and overrides the policy.
import { SCHEDULE_SOURCE, VELERO_LABEL } from './velero-labels.js';
import type { ScheduleView } from './velero-views.js';

export type ScheduleSource = (typeof SCHEDULE_SOURCE)[keyof typeof SCHEDULE_SOURCE];

export function scheduleSource(schedule: ScheduleView): ScheduleSource {
  return schedule.metadata.labels[VELERO_LABEL.scheduleSource] === SCHEDULE_SOURCE.policy ? SCHEDULE_SOURCE.policy : SCHEDULE_SOURCE.api;
}

/** The order in which a component's Schedules are worth keeping: api over policy, then the oldest, then by name (every replica picks the same). */
export function keeperOrder(a: ScheduleView, b: ScheduleView): number {
  const bySource = Number(scheduleSource(a) === SCHEDULE_SOURCE.policy) - Number(scheduleSource(b) === SCHEDULE_SOURCE.policy);
  if (bySource !== 0) return bySource;
  if (a.metadata.creationTimestamp !== b.metadata.creationTimestamp) return a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The one Schedule a component has (others are leftovers the controller deletes), live ones only. */
export function componentSchedule(schedules: readonly ScheduleView[]): ScheduleView | undefined {
  return schedules.filter((s) => s.metadata.deletionTimestamp === undefined).sort(keeperOrder)[0];
}
