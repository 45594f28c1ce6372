// What has to change so that a component has exactly the Schedule it
// should: pure, so every case is a table row in a unit test, and level-based,
// so running it again on its own result asks for nothing.
//
// One Schedule per component. A Schedule set through the API (source api,
// or one the region API made, which has no source label) overrides the
// policy: the policy side never changes or deletes it, only pauses it while
// the component is stopped and resumes it once it is Ready; it goes when the
// component is deleted. A policy Schedule follows its rule's protection.
//
// Resumed only once every replica is Ready (component-readiness.ts): Velero
// v1.11.1 computes the next run from status.lastBackup
// (pkg/controller/schedule_controller.go L246-257; skipImmediately came with
// v1.13), so resuming after a missed run backs up at once, and the backup's
// hooks must find a database that answers. That one catch-up backup is
// wanted: it is the first copy of what the component wrote since it started
// again, and it runs once the component is Ready. Velero makes one, never
// one per missed run (L229-231).
import type { ComponentState } from '../components/component-registry.js';
import type { ComponentProtection } from './component-protection.js';
import { EVENT_REASON } from './event-reasons.js';
import { scheduleName } from '../velero/object-names.js';
import { buildSchedule, scheduleUpdatePatch } from '../velero/schedule-object.js';
import { keeperOrder, scheduleSource } from '../velero/schedule-source.js';
import { SCHEDULE_SOURCE, VELERO_ANNOTATION, VELERO_LABEL } from '../velero/velero-labels.js';
import type { VeleroObject } from '../velero/velero-resources.js';
import type { ScheduleView } from '../velero/velero-views.js';

type Reason<K extends keyof typeof EVENT_REASON> = (typeof EVENT_REASON)[K];

/** Each action says what it does in an Event (reason and message) on the component. */
export type ScheduleAction =
  | { kind: 'create'; object: VeleroObject; reason: Reason<'scheduleCreated'>; message: string }
  | { kind: 'patch'; name: string; patch: Record<string, unknown>; reason: Reason<'schedulePaused' | 'scheduleResumed' | 'scheduleUpdated'>; message: string }
  | { kind: 'delete'; name: string; reason: Reason<'scheduleDeleted'>; message: string };

/** What the decision needs of a component; a ComponentSnapshot is one. */
export interface ScheduleSubject {
  serviceId: string;
  namespace: string;
  state: ComponentState;
  /** Running with every replica Ready (componentReady): only then is a paused Schedule resumed. */
  ready: boolean;
}

export interface ScheduleSettings {
  veleroNamespace: string;
  storageLocation: string;
}

/** Creator and last modifier of policy Schedules, as the console's schedule record shows them. */
export const POLICY_OPERATOR = 'wutong-backup policy';

function policyDesc(protection: ComponentProtection): string {
  return `backups by policy rule ${protection.rule}`;
}

function policyAnnotations(protection: ComponentProtection): Record<string, string> {
  return {
    [VELERO_ANNOTATION.scheduleRule]: protection.rule,
    ...(protection.keep !== undefined ? { [VELERO_ANNOTATION.keep]: String(protection.keep) } : {}),
  };
}

/** Whether a policy Schedule says what the protection says (cron, TTL, rule, keep, desc). */
function followsProtection(schedule: ScheduleView, protection: ComponentProtection): boolean {
  const { labels, annotations } = schedule.metadata;
  return (
    schedule.spec.schedule === protection.schedule &&
    schedule.spec.template.ttl === protection.ttl.spec &&
    // One made before Backups read the webhook's include list copies volumes the policy leaves out.
    schedule.spec.template.defaultVolumesToFsBackup === false &&
    labels[VELERO_LABEL.backupTtl] === protection.ttl.label &&
    annotations[VELERO_ANNOTATION.scheduleRule] === protection.rule &&
    annotations[VELERO_ANNOTATION.keep] === (protection.keep !== undefined ? String(protection.keep) : undefined) &&
    annotations[VELERO_ANNOTATION.desc] === policyDesc(protection)
  );
}

/**
 * A merge patch that only applies to the version decided on: the API server
 * answers 409 when the Schedule changed since (the API took it over, say),
 * and the reconcile then runs again on what is there now.
 */
function onVersion(schedule: ScheduleView, patch: Record<string, unknown>): Record<string, unknown> {
  const metadata = (patch.metadata ?? {}) as Record<string, unknown>;
  return { ...patch, metadata: { ...metadata, resourceVersion: schedule.metadata.resourceVersion } };
}

function updateAction(schedule: ScheduleView, protection: ComponentProtection, now: Date): ScheduleAction {
  const patch = scheduleUpdatePatch(schedule, now, {
    cron: protection.schedule,
    ttl: protection.ttl,
    desc: policyDesc(protection),
    operator: POLICY_OPERATOR,
    annotations: { ...policyAnnotations(protection), ...(protection.keep === undefined ? { [VELERO_ANNOTATION.keep]: null } : {}) },
  });
  return {
    kind: 'patch',
    name: schedule.metadata.name,
    patch: onVersion(schedule, patch),
    reason: EVENT_REASON.scheduleUpdated,
    message: `Schedule ${schedule.metadata.name} follows policy rule ${protection.rule}: cron ${protection.schedule}, ttl ${protection.ttl.label}, keep ${protection.keep ?? 'all'}`,
  };
}

/** Paused while stopped, resumed once Ready; a running component that is not Ready yet keeps what it has (undefined). */
function wantsPaused(component: ScheduleSubject): boolean | undefined {
  if (component.state === 'stopped') return true;
  return component.ready ? false : undefined;
}

function pauseAction(schedule: ScheduleView, paused: boolean | undefined): ScheduleAction | undefined {
  if (paused === undefined || (schedule.spec.paused ?? false) === paused) return undefined;
  const name = schedule.metadata.name;
  // No version precondition: pausing follows the component whichever source the Schedule has.
  return paused
    ? { kind: 'patch', name, patch: { spec: { paused: true } }, reason: EVENT_REASON.schedulePaused, message: `Schedule ${name} paused: the component is stopped` }
    : { kind: 'patch', name, patch: { spec: { paused: false } }, reason: EVENT_REASON.scheduleResumed, message: `Schedule ${name} resumed: every replica of the component is Ready` };
}

function createAction(component: ScheduleSubject, protection: ComponentProtection, settings: ScheduleSettings): ScheduleAction {
  const name = scheduleName(component);
  // Created paused unless Ready: resuming is then the one place that decides when backups start.
  const paused = wantsPaused(component) !== false;
  return {
    kind: 'create',
    object: buildSchedule({
      name,
      veleroNamespace: settings.veleroNamespace,
      storageLocation: settings.storageLocation,
      serviceId: component.serviceId,
      componentNamespace: component.namespace,
      cron: protection.schedule,
      ttl: protection.ttl,
      desc: policyDesc(protection),
      operator: POLICY_OPERATOR,
      labels: { [VELERO_LABEL.scheduleSource]: SCHEDULE_SOURCE.policy },
      annotations: policyAnnotations(protection),
      paused,
    }),
    reason: EVENT_REASON.scheduleCreated,
    message: `Schedule ${name} created from policy rule ${protection.rule}: cron ${protection.schedule}, ttl ${protection.ttl.label}, keep ${protection.keep ?? 'all'}${paused ? `, paused: the component is ${component.state === 'stopped' ? 'stopped' : 'not Ready yet'}` : ''}`,
  };
}

const remove = (schedule: ScheduleView, why: string): ScheduleAction => ({
  kind: 'delete',
  name: schedule.metadata.name,
  reason: EVENT_REASON.scheduleDeleted,
  message: `Schedule ${schedule.metadata.name} deleted: ${why}`,
});

/**
 * The actions that bring a component's Schedules to what they should be;
 * none when they already are. `component` undefined means nothing of it is
 * left; `existing` are every Schedule of it (its service_id label and its
 * namespace as the scope: velero-scope.ts), never another namespace's.
 * `now` is when a cron change takes effect (schedule-cron-change.ts).
 */
export function desiredSchedule(
  component: ScheduleSubject | undefined,
  protection: ComponentProtection | undefined,
  existing: readonly ScheduleView[],
  settings: ScheduleSettings,
  now: Date,
): ScheduleAction[] {
  const live = existing.filter((s) => s.metadata.deletionTimestamp === undefined);
  if (component === undefined || component.state === 'deleted') return live.map((s) => remove(s, 'the component is deleted'));
  const [keeper, ...extra] = [...live].sort(keeperOrder);
  const actions = extra.map((s) => remove(s, `the component already has Schedule ${keeper?.metadata.name ?? ''}`));
  if (keeper === undefined) {
    if (protection !== undefined) actions.push(createAction(component, protection, settings));
    return actions;
  }
  if (scheduleSource(keeper) === SCHEDULE_SOURCE.policy) {
    if (protection === undefined) return [...actions, remove(keeper, 'no policy rule protects the component any more')];
    if (!followsProtection(keeper, protection)) actions.push(updateAction(keeper, protection, now));
  }
  const pause = pauseAction(keeper, wantsPaused(component));
  if (pause !== undefined) actions.push(pause);
  return actions;
}
