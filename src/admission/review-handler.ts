import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { metadataPatch } from './metadata-patch.js';
import { mutatePod } from './mutate-pod.js';
import type { Pod } from './pod.js';
import { podShapeProblem } from './pod-shape.js';
import type { AdmissionRequest, AdmissionResponse } from './admission-review.js';
import { NO_EXCLUDED_NAMESPACES, namespaceExclusion, type ExcludedNamespaces } from './excluded-namespaces.js';
import { handleWorkloadReview, heldWorkloadKind } from './workload-review.js';
import { NOTHING_ADDED, WARNING_PREFIX, type ReviewResult } from './review-result.js';

function isPodRequest(request: AdmissionRequest): boolean {
  return (request.kind?.kind ?? 'Pod') === 'Pod' && (request.kind?.group ?? '') === '' && typeof request.object === 'object' && request.object !== null;
}

/**
 * One admission request → its response. Pure apart from reading the policy
 * it is given (and `now`, which names a new upgrade hold). Pods are mutated;
 * UPDATEs of StatefulSets and Deployments may be held for a backup first.
 */
export function handleReview(request: AdmissionRequest, policy: CompiledPolicy, excluded: ExcludedNamespaces = NO_EXCLUDED_NAMESPACES, now: Date = new Date()): ReviewResult {
  const uid = request.uid;
  const workload = heldWorkloadKind(request);
  if (workload !== undefined) return handleWorkloadReview(request, workload, policy, excluded, now);
  if (!isPodRequest(request)) {
    return { response: { uid, allowed: true }, outcome: 'skipped', skipReason: 'not a pod', warnings: [], added: NOTHING_ADDED };
  }
  const shapeProblem = podShapeProblem(request.object);
  if (shapeProblem !== undefined) {
    return { response: { uid, allowed: true }, outcome: 'skipped', skipReason: `malformed pod: ${shapeProblem}`, warnings: [], added: NOTHING_ADDED };
  }
  const pod = request.object as Pod;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? '';
  const exclusion = namespaceExclusion(namespace, excluded);
  if (exclusion !== undefined) {
    return { response: { uid, allowed: true }, outcome: 'skipped', skipReason: exclusion, warnings: [], added: NOTHING_ADDED };
  }
  const mutation = mutatePod(pod, policy, namespace);
  if (!mutation.handled) {
    return { response: { uid, allowed: true }, outcome: 'skipped', skipReason: mutation.skipReason, warnings: [], added: NOTHING_ADDED };
  }
  const response: AdmissionResponse = { uid, allowed: true };
  const ops = metadataPatch(pod.metadata, mutation.labels, mutation.annotations);
  if (ops.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  }
  if (mutation.warnings.length > 0) response.warnings = mutation.warnings.map((w) => WARNING_PREFIX + w.message);
  if (Object.keys(mutation.audit).length > 0) response.auditAnnotations = mutation.audit;
  return {
    response,
    outcome: ops.length > 0 ? 'patched' : 'unchanged',
    warnings: mutation.warnings,
    added: mutation.added,
  };
}
