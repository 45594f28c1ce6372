import type { WorkloadKind } from '../components/component.js';
import { isObject } from '../is-object.js';
import type { Container, Volume } from './pod.js';

/**
 * The parts of an apps/v1 StatefulSet or Deployment the upgrade hold reads,
 * as the AdmissionReview carries them (untyped JSON, after the API server's
 * defaulting).
 */
export interface Workload {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    /** Deployment only. */
    paused?: boolean;
    /** StatefulSet only: type RollingUpdate (the default) or OnDelete. */
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number | null } & Record<string, unknown> };
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { containers?: Container[]; volumes?: Volume[] };
    };
    /** StatefulSet only. */
    volumeClaimTemplates?: unknown[];
  };
}

export type { WorkloadKind };

/** What is wrong with the object's shape where the hold reads it, or undefined: a malformed object is left alone. */
export function workloadShapeProblem(object: unknown): string | undefined {
  if (!isObject(object)) return 'not an object';
  const metadata = object.metadata;
  if (metadata !== undefined && !isObject(metadata)) return 'metadata is not an object';
  for (const key of ['labels', 'annotations'] as const) {
    const map = isObject(metadata) ? metadata[key] : undefined;
    if (map === undefined || map === null) continue;
    if (!isObject(map)) return `metadata.${key} is not an object`;
    for (const [k, v] of Object.entries(map)) if (typeof v !== 'string') return `metadata.${key}[${JSON.stringify(k)}] is not a string`;
  }
  const spec = object.spec;
  if (spec === undefined) return undefined;
  if (!isObject(spec)) return 'spec is not an object';
  if (spec.replicas !== undefined && spec.replicas !== null && typeof spec.replicas !== 'number') return 'spec.replicas is not a number';
  if (spec.updateStrategy !== undefined && spec.updateStrategy !== null && !isObject(spec.updateStrategy)) return 'spec.updateStrategy is not an object';
  const template = spec.template;
  if (template !== undefined && template !== null) {
    if (!isObject(template)) return 'spec.template is not an object';
    const tmeta = template.metadata;
    if (tmeta !== undefined && tmeta !== null && !isObject(tmeta)) return 'spec.template.metadata is not an object';
    const labels = isObject(tmeta) ? tmeta.labels : undefined;
    if (labels !== undefined && labels !== null) {
      if (!isObject(labels)) return 'spec.template.metadata.labels is not an object';
      for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') return `spec.template.metadata.labels[${JSON.stringify(k)}] is not a string`;
    }
    const tspec = template.spec;
    if (tspec !== undefined && tspec !== null) {
      if (!isObject(tspec)) return 'spec.template.spec is not an object';
      for (const list of ['containers', 'volumes'] as const) {
        const items = tspec[list];
        if (items === undefined || items === null) continue;
        if (!Array.isArray(items)) return `spec.template.spec.${list} is not an array`;
        for (const [i, item] of items.entries()) if (!isObject(item)) return `spec.template.spec.${list}[${i}] is not an object`;
      }
    }
  }
  if (spec.volumeClaimTemplates !== undefined && spec.volumeClaimTemplates !== null && !Array.isArray(spec.volumeClaimTemplates)) return 'spec.volumeClaimTemplates is not an array';
  return undefined;
}
