import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { PodMetadata } from './pod.js';

/**
 * JSON Patch from the pod's labels and annotations to the ones the mutation
 * wants. Only these two maps are diffed: the rest of the pod cannot change, so
 * diffing (or cloning) the whole object would be wasted work on the hot path.
 * fast-json-patch escapes "/" and "~" in keys (RFC 6901), and a map the pod
 * lacks is added whole, since adding /metadata/annotations/x to a missing map
 * fails.
 */
export function metadataPatch(
  metadata: PodMetadata | undefined,
  labels: Record<string, string>,
  annotations: Record<string, string>,
): Operation[] {
  const ops: Operation[] = [];
  if (metadata === undefined) {
    const value: PodMetadata = {};
    if (Object.keys(labels).length > 0) value.labels = labels;
    if (Object.keys(annotations).length > 0) value.annotations = annotations;
    return Object.keys(value).length > 0 ? [{ op: 'add', path: '/metadata', value }] : [];
  }
  diffMap(ops, '/metadata/labels', metadata.labels, labels);
  diffMap(ops, '/metadata/annotations', metadata.annotations, annotations);
  return ops;
}

function diffMap(
  ops: Operation[],
  path: string,
  original: Record<string, string> | undefined,
  desired: Record<string, string>,
): void {
  if (original === undefined || original === null) {
    if (Object.keys(desired).length > 0) ops.push({ op: 'add', path, value: desired });
    return;
  }
  for (const op of fastJsonPatch.compare(original, desired)) ops.push({ ...op, path: path + op.path });
}
