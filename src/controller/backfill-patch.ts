import { namespaceExclusion, type ExcludedNamespaces } from '../admission/excluded-namespaces.js';
import { mutatePod } from '../admission/mutate-pod.js';
import type { Pod, PodMetadata } from '../admission/pod.js';
import { podShapeProblem } from '../admission/pod-shape.js';
import type { CompiledPolicy } from '../policy/compiled-policy.js';

/** What a pod from a list, a watch or a GET carries beyond what admission reads. */
export interface LivePod extends Pod {
  metadata?: PodMetadata & { resourceVersion?: string; deletionTimestamp?: string; uid?: string };
  status?: { phase?: string };
}

/** A JSON merge patch (RFC 7386) of a pod's metadata: a value sets a key, null removes it. */
export interface BackfillPatch {
  metadata: {
    /** The version the patch was computed from: the API server answers 409 when the pod has changed since. */
    resourceVersion: string;
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
  };
}

export interface Backfill {
  patch: BackfillPatch;
  /** Annotation keys (and labels, as "label <key>") the patch adds, changes and removes: for the pod's Event and the logs. */
  added: string[];
  updated: string[];
  removed: string[];
}

/**
 * What a running pod needs so that it carries what the webhook would give it
 * now: the webhook's own pure mutation (mutate-pod.ts), under its ownership
 * rules (a user's key is never changed), turned into a merge patch of the
 * labels and annotations that differ. Undefined when there is nothing to do,
 * and for every pod admission would leave alone (not selected, opted out,
 * excluded namespace, unreadable) or that is not worth patching: not
 * Running, or being deleted. Applying the patch and asking again gives
 * undefined.
 */
export function backfillFor(object: unknown, namespace: string, policy: CompiledPolicy, excluded: ExcludedNamespaces): Backfill | undefined {
  if (podShapeProblem(object) !== undefined) return undefined;
  const pod = object as LivePod;
  const metadata = pod.metadata;
  if (pod.status?.phase !== 'Running' || metadata?.deletionTimestamp || !metadata?.resourceVersion) return undefined;
  if (namespaceExclusion(namespace, excluded) !== undefined) return undefined;
  const mutation = mutatePod(pod, policy, namespace);
  if (!mutation.handled) return undefined;

  const backfill: Backfill = { patch: { metadata: { resourceVersion: metadata.resourceVersion } }, added: [], updated: [], removed: [] };
  const labels = mapPatch(metadata.labels ?? {}, mutation.labels, backfill, 'label ');
  const annotations = mapPatch(metadata.annotations ?? {}, mutation.annotations, backfill, '');
  if (!labels && !annotations) return undefined;
  if (labels) backfill.patch.metadata.labels = labels;
  if (annotations) backfill.patch.metadata.annotations = annotations;
  return backfill;
}

/** The merge patch from one string map to another, or undefined when they are equal. */
function mapPatch(
  current: Record<string, string>,
  desired: Record<string, string>,
  changes: Backfill,
  shownAs: 'label ' | '',
): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  let changed = false;
  for (const [key, value] of Object.entries(desired)) {
    if (current[key] === value) continue;
    (Object.hasOwn(current, key) ? changes.updated : changes.added).push(shownAs + key);
    patch[key] = value;
    changed = true;
  }
  for (const key of Object.keys(current)) {
    if (Object.hasOwn(desired, key)) continue;
    changes.removed.push(shownAs + key);
    patch[key] = null;
    changed = true;
  }
  return changed ? patch : undefined;
}

/** One line for the pod's Event: which keys the backfill added, updated and removed. */
export function describeBackfill(backfill: Backfill): string {
  const parts = [
    backfill.added.length > 0 ? `added ${backfill.added.join(', ')}` : '',
    backfill.updated.length > 0 ? `updated ${backfill.updated.join(', ')}` : '',
    backfill.removed.length > 0 ? `removed ${backfill.removed.join(', ')}` : '',
  ].filter((part) => part !== '');
  return `Backfilled the webhook's labels and annotations: ${parts.join('; ')}`;
}
