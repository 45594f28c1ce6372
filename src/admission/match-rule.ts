import type { CompiledRule } from '../policy/compiled-policy.js';
import type { Container } from './pod.js';

export type RuleMatch =
  | { kind: 'matched'; container: Container }
  | { kind: 'pod-mismatch' }
  /** The rule wanted this pod but none of its containers qualified. */
  | { kind: 'no-container'; wanted: string };

function labelsMatch(rule: CompiledRule, labels: Record<string, string>): boolean {
  for (const [key, value] of rule.labels) if (labels[key] !== value) return false;
  return true;
}

function containerMatches(rule: CompiledRule, container: Container): boolean {
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

export function matchRule(
  rule: CompiledRule,
  namespace: string,
  labels: Record<string, string>,
  containers: readonly Container[],
): RuleMatch {
  if (rule.namespaces && !rule.namespaces.has(namespace)) return { kind: 'pod-mismatch' };
  if (!labelsMatch(rule, labels)) return { kind: 'pod-mismatch' };
  const container = pickContainer(rule, containers);
  if (container) return { kind: 'matched', container };
  const wanted = [
    rule.containers ? `container ${rule.containers.join(' or ')}` : '',
    rule.image ? `image matching /${rule.image.source}/` : '',
  ]
    .filter(Boolean)
    .join(' with ');
  return { kind: 'no-container', wanted };
}
