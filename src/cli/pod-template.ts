import type { Pod } from '../admission/pod.js';
import { isObject } from '../is-object.js';

/**
 * Where the pod lives inside a manifest: the object itself for a Pod, the
 * pod template for a workload. The webhook only ever sees pods; a workload's
 * pods are created from its template, so mutating the template shows what
 * every one of its pods will get.
 */
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface PodSubject {
  /** "pod/mysql-0", "statefulset/mysql": how messages name it. */
  name: string;
  kind: string;
  /** JSON Pointer of the pod (template) inside the manifest: "" or "/spec/template". */
  pointer: string;
  namespace: string | undefined;
  /** The pod the webhook would be asked about. */
  pod: Pod;
}

function at(object: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = object;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

export function kindsWithPods(): string[] {
  return Object.keys(TEMPLATE_PATHS);
}

/**
 * The pod inside a manifest, or undefined for kinds that have none (a
 * Service, a ConfigMap...). A workload without a template is an error the
 * caller reports.
 */
export function podSubjectOf(object: Record<string, unknown>): PodSubject | undefined | { error: string } {
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const path = TEMPLATE_PATHS[kind];
  if (path === undefined) return undefined;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const objectName = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '(unnamed)';
  const name = `${kind.toLowerCase()}/${objectName}`;
  const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  if (path.length === 0) return { name, kind, pointer: '', namespace, pod: object };
  const template = at(object, path);
  if (!isObject(template)) return { error: `${name}: has no ${path.join('.')}` };
  // A template carries metadata and spec; the pod made from it is a Pod with both.
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', ...(template as Pod) };
  if (kind === 'StatefulSet') addClaimVolumes(pod, object, typeof metadata.name === 'string' ? metadata.name : 'statefulset');
  return { name, kind, pointer: `/${path.join('/')}`, namespace, pod };
}

/**
 * The StatefulSet controller gives each pod a PVC volume per
 * volumeClaimTemplate; the template itself does not list them. Without
 * them the webhook would see a database with no data volume.
 */
function addClaimVolumes(pod: Pod, statefulSet: Record<string, unknown>, setName: string): void {
  const claims = at(statefulSet, ['spec', 'volumeClaimTemplates']);
  if (!Array.isArray(claims) || claims.length === 0) return;
  const volumes = [...(pod.spec?.volumes ?? [])];
  for (const claim of claims) {
    const claimName = isObject(claim) && isObject(claim.metadata) ? claim.metadata.name : undefined;
    if (typeof claimName !== 'string' || volumes.some((v) => v.name === claimName)) continue;
    volumes.push({ name: claimName, persistentVolumeClaim: { claimName: `${claimName}-${setName}-0` } });
  }
  pod.spec = { ...pod.spec, volumes };
}
