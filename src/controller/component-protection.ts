// Which policy rule protects a component, if any. The webhook picks a rule
// per pod from its labels and containers; the controller has to pick one per
// component, also while the component is stopped and has neither a workload
// nor pods, so nothing says which containers it runs.
import { matchRule, podMismatch } from '../admission/match-rule.js';
import type { Container } from '../admission/pod.js';
import type { CompiledPolicy, CompiledRule, RuleProtection } from '../policy/compiled-policy.js';

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

// LOCAL STAND-IN for the lead's foundation (H-DESIGN.md item 8); replaced by main's version on merge.
import type { ComponentSnapshot } from '../components/component-registry.js';
import type { ControllerDeps } from './controller-deps.js';
import { scheduleSource } from '../velero/schedule-source.js';
import { SCHEDULE_SOURCE, VELERO_ANNOTATION } from '../velero/velero-labels.js';

export function currentProtection(deps: Pick<ControllerDeps, 'policy' | 'cache'>, component: ComponentSnapshot | undefined): ComponentProtection | undefined {
  if (!component) return undefined;
  const own = deps.cache
    .schedulesOf(component.serviceId)
    .find((s) => scheduleSource(s) === SCHEDULE_SOURCE.policy && s.metadata.deletionTimestamp === undefined);
  return componentProtection(deps.policy.current(), component, own?.metadata.annotations[VELERO_ANNOTATION.scheduleRule]);
}
