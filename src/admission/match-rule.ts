import type { CompiledRule } from '../policy/compiled-policy.js';
import type { Container } from './pod.js';

export type RuleMatch =
  | { kind: 'matched'; container: Container }
  | { kind: 'pod-mismatch' }
  /** The rule wanted this pod but none of its containers qualified. */
  | { kind: 'no-container'; wanted: string };

/** Which of the rule's pod conditions the pod fails first; `explain` turns it into text. */
export type PodMismatch =
  | { kind: 'namespace' }
  | { kind: 'label'; key: string; want: string; got: string | undefined };

/** Undefined when the rule's namespaces and labels select the pod. Allocates only on a mismatch, builds no text. */
export function podMismatch(rule: CompiledRule, namespace: string, labels: Record<string, string>): PodMismatch | undefined {
  if (rule.namespaces && !rule.namespaces.has(namespace)) return { kind: 'namespace' };
  for (const [key, value] of rule.labels) {
    if (labels[key] !== value) return { kind: 'label', key, want: value, got: labels[key] };
  }
  return undefined;
}

export function containerMatches(rule: CompiledRule, container: Container): boolean {
  if (rule.image && !rule.image.test(container.image ?? '')) return false;
  return true;
}

/**
 * Picks the container the rule's hooks run in. `containers` is an order of
 * preference, so "mysql" wins over a sidecar listed first in the pod.
 */
function pickContainer(rule: CompiledRule, containers: readonly Container[]): Container | undefined {
  if (rule.containers) {
    for (const name of rule.containers) {
      const found = containers.find((c) => c.name === name);
      if (found && containerMatches(rule, found)) return found;
    }
    return undefined;
  }
  return containers.find((c) => containerMatches(rule, c));
}

/** "container mysql or db with image matching /…/": what the rule looks for in a pod. */
export function wantedContainer(rule: CompiledRule): string {
  return [
    rule.containers ? `container ${rule.containers.join(' or ')}` : '',
    rule.image ? `image matching /${rule.image.source}/` : '',
  ]
    .filter(Boolean)
    .join(' with ');
}

export function matchRule(
  rule: CompiledRule,
  namespace: string,
  labels: Record<string, string>,
  containers: readonly Container[],
): RuleMatch {
  if (podMismatch(rule, namespace, labels)) return { kind: 'pod-mismatch' };
  const container = pickContainer(rule, containers);
  if (container) return { kind: 'matched', container };
  // A getter: most pods fail most image rules, and only a targeted rule's warning reads the text.
  return {
    kind: 'no-container',
    get wanted() {
      return wantedContainer(rule);
    },
  };
}
