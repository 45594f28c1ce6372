import type { ComponentKey } from '../components/component-key.js';
// Which policy rule protects a component, if any. The webhook picks a rule
// per pod from its labels and containers; the controller has to pick one per
// component, also while the component is stopped and has neither a workload
// nor pods, so nothing says which containers it runs.
import { matchRule, podMismatch } from '../admission/match-rule.js';
import type { Container } from '../admission/pod.js';
import type { VeleroCache } from '../velero/velero-ports.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { CompiledPolicy, CompiledRule, RuleProtection } from '../policy/compiled-policy.js';
import { scheduleSource } from '../velero/schedule-source.js';
import { SCHEDULE_SOURCE, VELERO_ANNOTATION } from '../velero/velero-labels.js';
import type { ScheduleView } from '../velero/velero-views.js';

/** What protection is decided from: a ComponentSnapshot is one (workload absent while stopped). */
export interface ProtectionSubject {
  namespace: string;
  /** The workload's pod template labels, else a pod's, else a PVC's (Wutong puts the same labels on all). */
  labels: Record<string, string>;
  workload?: { template: { containers: readonly Container[] } } | undefined;
}

export interface ComponentProtection extends RuleProtection {
  /** The rule's name: the backup.wutong.io/rule annotation of the Schedule it makes. */
  rule: string;
}

function protectionOf(rule: CompiledRule & { protection: RuleProtection }): ComponentProtection {
  return { rule: rule.name, ...rule.protection };
}

function hasProtection(rule: CompiledRule): rule is CompiledRule & { protection: RuleProtection } {
  return rule.protection !== undefined;
}

/**
 * The first rule, in policy order, with protection whose namespaces and
 * labels select the component and whose container condition a container of
 * the pod template meets: what the webhook would match on one of its pods.
 */
export function protectionFor(
  policy: CompiledPolicy,
  namespace: string,
  labels: Record<string, string>,
  containers: readonly Container[],
): ComponentProtection | undefined {
  for (const rule of policy.rules) {
    if (hasProtection(rule) && matchRule(rule, namespace, labels, containers).kind === 'matched') return protectionOf(rule);
  }
  return undefined;
}

/**
 * The protection a component has now. Running (a workload with a template):
 * decided afresh. Stopped (no template): the rule that made its policy
 * Schedule, named by `scheduleRule`, keeps protecting it while that rule
 * still exists, still has protection and still selects the component's
 * namespace and labels; a stopped component no rule protected before gets
 * no new protection, since what it runs is unknown.
 */
export function componentProtection(
  policy: CompiledPolicy,
  subject: ProtectionSubject | undefined,
  scheduleRule: string | undefined,
): ComponentProtection | undefined {
  if (subject === undefined) return undefined;
  if (subject.workload !== undefined) {
    return protectionFor(policy, subject.namespace, subject.labels, subject.workload.template.containers);
  }
  if (scheduleRule === undefined) return undefined;
  const rule = policy.rules.find((r) => r.name === scheduleRule);
  if (rule === undefined || !hasProtection(rule) || podMismatch(rule, subject.namespace, subject.labels) !== undefined) return undefined;
  return protectionOf(rule);
}

/** The rule that made the component's policy Schedule: it keeps protecting a stopped component (componentProtection). */
export function scheduleRule(schedules: readonly ScheduleView[]): string | undefined {
  const own = schedules.find((s) => scheduleSource(s) === SCHEDULE_SOURCE.policy && s.metadata.deletionTimestamp === undefined);
  return own?.metadata.annotations[VELERO_ANNOTATION.scheduleRule];
}

/** The protection a component in the registry has under the current policy, its cached Schedules telling which rule protected it while it ran. */
export function currentProtection(
  deps: { policy: Pick<PolicyStore, 'current'>; cache: Pick<VeleroCache, 'schedulesOf'> },
  component: (ProtectionSubject & { key: ComponentKey }) | undefined,
): ComponentProtection | undefined {
  if (component === undefined) return undefined;
  return componentProtection(deps.policy.current(), component, scheduleRule(deps.cache.schedulesOf(component.key)));
}
