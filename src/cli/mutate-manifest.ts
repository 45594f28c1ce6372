import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { decodeReview } from '../admission/admission-review.js';
import type { Pod } from '../admission/pod.js';
import { handleReview } from '../admission/review-handler.js';
import type { ReviewResult } from '../admission/review-result.js';
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { CliError } from './cli-error.js';
import { podSubjectOf, type PodSubject } from './pod-template.js';
import type { Manifest } from './read-manifests.js';

const { applyPatch } = fastJsonPatch;

export interface ManifestMutation {
  manifest: Manifest;
  /** Undefined for an object without a pod (Service, ConfigMap...): passed through untouched. */
  subject: PodSubject | undefined;
  namespace: string;
  /** The whole object: the pod as admitted, or the workload with its template showing what each of its pods gets. */
  output: Record<string, unknown>;
  /** The JSON Patch the webhook answers, with paths into this object (under the template for workloads). */
  patch: Operation[];
  review: ReviewResult | undefined;
  /** The mutation's warnings; the CLI names the object instead of the webhook's "wutong-backup: " prefix for kubectl. */
  warnings: string[];
  addedLabels: Record<string, string>;
  addedAnnotations: Record<string, string>;
  podBefore: Pod | undefined;
  podAfter: Pod | undefined;
}

function added(before: Record<string, string> | undefined, after: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(after ?? {})) if (before?.[key] === undefined) out[key] = value;
  return out;
}

/**
 * The namespace the webhook would see: the manifest's own, else --namespace,
 * else "default". Like kubectl, a --namespace that contradicts the manifest
 * is an error rather than a silent choice.
 */
function namespaceOf(subject: PodSubject, flag: string | undefined): string {
  if (subject.namespace !== undefined && flag !== undefined && flag !== subject.namespace) {
    throw new CliError(`${subject.name}: its namespace "${subject.namespace}" does not match --namespace "${flag}"`);
  }
  return subject.namespace ?? flag ?? 'default';
}

/**
 * Runs one manifest through the webhook's own request handler, exactly as
 * an AdmissionReview from the API server would, and applies the answer.
 */
export function mutateManifest(manifest: Manifest, policy: CompiledPolicy, namespaceFlag: string | undefined): ManifestMutation {
  const found = podSubjectOf(manifest.object);
  if (found !== undefined && 'error' in found) throw new CliError(`${manifest.source}: ${found.error}`);
  if (found === undefined) {
    return {
      manifest,
      subject: undefined,
      namespace: namespaceFlag ?? 'default',
      output: manifest.object,
      patch: [],
      review: undefined,
      warnings: [],
      addedLabels: {},
      addedAnnotations: {},
      podBefore: undefined,
      podAfter: undefined,
    };
  }
  const namespace = namespaceOf(found, namespaceFlag);
  const { request } = decodeReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'wutong-backup-cli',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace,
      operation: 'CREATE',
      object: found.pod,
    },
  });
  const review = handleReview(request, policy);
  const podPatch: Operation[] = review.response.patch
    ? (JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as Operation[])
    : [];
  const patch = podPatch.map((op) => ({ ...op, path: found.pointer + op.path }));
  const output = applyPatch(structuredClone(manifest.object), patch, true, false).newDocument;
  const podAfter = applyPatch(structuredClone(found.pod), podPatch, true, false).newDocument;
  return {
    manifest,
    subject: found,
    namespace,
    output,
    patch,
    review,
    warnings: review.warnings.map((w) => w.message),
    addedLabels: added(found.pod.metadata?.labels, podAfter.metadata?.labels),
    addedAnnotations: added(found.pod.metadata?.annotations, podAfter.metadata?.annotations),
    podBefore: found.pod,
    podAfter,
  };
}
