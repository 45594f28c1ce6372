// The admission answer for an UPDATE of a StatefulSet or Deployment: the
// upgrade hold (hold-decision.ts) as a JSON Patch, a warning kubectl prints
// and an audit annotation. Everything else about workloads is allowed as it is.
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import type { AdmissionRequest } from './admission-review.js';
import { namespaceExclusion, type ExcludedNamespaces } from './excluded-namespaces.js';
import { holdDecision } from './hold-decision.js';
import { NOTHING_ADDED, WARNING_PREFIX, type ReviewResult } from './review-result.js';
import { workloadShapeProblem, type Workload, type WorkloadKind } from './workload.js';

/** The workload kind of an apps/v1 UPDATE the hold looks at, else undefined. */
export function heldWorkloadKind(request: AdmissionRequest): WorkloadKind | undefined {
  if (request.operation !== 'UPDATE' || request.kind?.group !== 'apps') return undefined;
  const kind = request.kind.kind;
  return kind === 'StatefulSet' || kind === 'Deployment' ? kind : undefined;
}

export function handleWorkloadReview(request: AdmissionRequest, kind: WorkloadKind, policy: CompiledPolicy, excluded: ExcludedNamespaces, now: Date): ReviewResult {
  const uid = request.uid;
  const allowed = (skipReason: string): ReviewResult => ({ response: { uid, allowed: true }, outcome: 'skipped', skipReason, warnings: [], added: NOTHING_ADDED });
  const problem = workloadShapeProblem(request.object) ?? workloadShapeProblem(request.oldObject);
  if (problem !== undefined) return allowed(`malformed ${kind}: ${problem}`);
  const after = request.object as Workload;
  const before = request.oldObject as Workload;
  const namespace = request.namespace ?? after.metadata?.namespace ?? '';
  const exclusion = namespaceExclusion(namespace, excluded);
  if (exclusion !== undefined) return allowed(exclusion);
  const decision = holdDecision(kind, before, after, policy, namespace, now);
  if (decision.kind === 'skip') return allowed(decision.reason);
  const { hold } = decision;
  const response: ReviewResult['response'] = { uid, allowed: true };
  if (decision.ops.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(decision.ops)).toString('base64');
  }
  const told = `held rollout of ${kind} ${namespace}/${request.name ?? after.metadata?.name ?? ''} for Backup ${hold.backup} (${hold.reason}); it proceeds once the backup has completed`;
  response.warnings = [WARNING_PREFIX + (decision.fresh ? told : `${told}, as held since ${hold.heldAt}`)];
  response.auditAnnotations = { 'upgrade-hold': `${decision.fresh ? 'held' : 'kept'} for Backup ${hold.backup}: ${hold.reason}` };
  return { response, outcome: decision.ops.length > 0 ? 'patched' : 'unchanged', warnings: [], added: NOTHING_ADDED };
}
