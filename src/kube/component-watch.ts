import type { Logger } from 'pino';
import type { ClaimSummary, ComponentRegistry, ObjectSummary, PodRecord, RegistryKind, Summary, WorkloadSummary } from '../components/component-registry.js';
import { PROTECTION_PREFIX } from '../components/protection-keys.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import { isObject } from '../is-object.js';
import type { KubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';

export interface ComponentWatch {
  /** Starts the four watches; resolves once each has delivered its first list. */
  start(): Promise<void>;
  stop(): void;
  /** Every first list delivered: until then the registry is partial, and absence proves nothing. */
  synced(): boolean;
}

export interface ComponentWatchOptions {
  /** Every pod object the list or watch delivers, whole, before it is reduced to a summary (backfill looks at it once and keeps nothing). */
  onPod?: (raw: unknown) => void;
  watchTimeoutSeconds?: number;
  relistIntervalMs?: number;
}

/** The four kinds a component is made of, where to list them, and what the registry keeps of each (also the one-shot lists of `wutong-backup status`). */
export const COMPONENT_SOURCES: ReadonlyArray<{ kind: RegistryKind; path: string; summarize: (raw: Json) => Summary }> = [
  { kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets', summarize: (raw) => workloadSummary('StatefulSet', raw) },
  { kind: 'Deployment', path: '/apis/apps/v1/deployments', summarize: (raw) => workloadSummary('Deployment', raw) },
  { kind: 'PersistentVolumeClaim', path: '/api/v1/persistentvolumeclaims', summarize: claimSummary },
  { kind: 'Pod', path: '/api/v1/pods', summarize: podSummary },
];

/**
 * Feeds the registry from four cluster-wide list-watches of Wutong's
 * objects (creator=Wutong): Wutong creates tenant namespaces at any time,
 * so no namespace list can be fixed in advance. Each recovers as listWatch
 * does (410 relist, idle deadline, backoff, periodic relist).
 */
export function watchComponents(http: KubeHttp, registry: ComponentRegistry, log: Logger, options: ComponentWatchOptions = {}): ComponentWatch {
  let listed = 0;
  const watches: ListWatch[] = COMPONENT_SOURCES.map((source) =>
    listWatch<Json & { metadata?: { name?: string; namespace?: string } }>(
      http,
      {
        path: source.path,
        labelSelector: `${WUTONG_LABEL.creator}=${WUTONG_CREATOR}`,
        watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
        relistIntervalMs: options.relistIntervalMs ?? 15 * 60_000,
      },
      {
        upsert(raw) {
          if (source.kind === 'Pod') options.onPod?.(raw);
          registry.upsert(source.summarize(raw));
        },
        remove(raw) {
          registry.remove(source.kind, raw.metadata?.namespace ?? '', raw.metadata?.name ?? '');
        },
      },
      log.child({ component: 'component-watch', kind: source.kind }),
    ),
  );
  return {
    async start() {
      await Promise.all(watches.map(async (w) => {
        await w.start();
        listed++;
      }));
    },
    stop: () => watches.forEach((w) => w.stop()),
    synced: () => listed === watches.length,
  };
}

type Json = Record<string, unknown>;
const objectAt = (value: unknown): Json => (isObject(value) ? value : {});
const stringAt = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const labelsAt = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(value))) if (typeof v === 'string') out[k] = v;
  return out;
};

/** Our own annotations only: a pod's or a workload's annotation map can hold kilobytes of others' (kubectl's last-applied). */
function ownAnnotations(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(value))) if (typeof v === 'string' && k.startsWith(PROTECTION_PREFIX)) out[k] = v;
  return out;
}

function base(kind: RegistryKind, raw: Json): ObjectSummary {
  const meta = objectAt(raw.metadata);
  const deletionTimestamp = stringAt(meta.deletionTimestamp);
  return {
    kind,
    namespace: stringAt(meta.namespace) ?? '',
    name: stringAt(meta.name) ?? '',
    uid: stringAt(meta.uid) ?? '',
    labels: labelsAt(meta.labels),
    annotations: ownAnnotations(meta.annotations),
    resourceVersion: stringAt(meta.resourceVersion) ?? '',
    ...(deletionTimestamp ? { deletionTimestamp } : {}),
  };
}

function workloadSummary(kind: 'StatefulSet' | 'Deployment', raw: Json): WorkloadSummary {
  const spec = objectAt(raw.spec);
  const template = objectAt(spec.template);
  const containers = Array.isArray(objectAt(template.spec).containers) ? (objectAt(template.spec).containers as unknown[]) : [];
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  return {
    ...base(kind, raw),
    kind,
    replicas,
    template: {
      labels: labelsAt(objectAt(template.metadata).labels),
      containers: containers.map((c) => ({ name: stringAt(objectAt(c).name) ?? '', image: stringAt(objectAt(c).image) ?? '' })),
    },
  };
}

function claimSummary(raw: Json): ClaimSummary {
  const spec = objectAt(raw.spec);
  const volumeName = stringAt(spec.volumeName);
  const finalizers = objectAt(raw.metadata).finalizers;
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : []);
  return {
    ...base('PersistentVolumeClaim', raw),
    kind: 'PersistentVolumeClaim',
    phase: stringAt(objectAt(raw.status).phase) ?? '',
    ...(volumeName ? { volumeName } : {}),
    finalizers: strings(finalizers),
    accessModes: strings(spec.accessModes),
    // Listed objects and watch events both carry it as a string here (raw JSON, not client-node's models).
    creationTimestamp: stringAt(objectAt(raw.metadata).creationTimestamp) ?? '',
  };
}

function podSummary(raw: Json): PodRecord {
  const status = objectAt(raw.status);
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  return {
    ...base('Pod', raw),
    kind: 'Pod',
    phase: stringAt(status.phase) ?? '',
    ready: conditions.some((c) => objectAt(c).type === 'Ready' && objectAt(c).status === 'True'),
  };
}
