import type { Logger } from 'pino';
import { kubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ObservedConfigMap {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  data: Record<string, string>;
}

export interface ConfigMapHandlers {
  onUpsert(configMap: ObservedConfigMap): void;
  onDelete(name: string): void;
}

export type ConfigMapWatch = ListWatch;

interface ConfigMapObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/**
 * How quickly a policy edit is in force, by what the connection does:
 * healthy, the watch delivers it at once (the e2e test checks 2 s); silently
 * stalled (half-open: no error, no bytes), the idle deadline of
 * WATCH_TIMEOUT_SECONDS + 5 s notices and the relist that follows delivers
 * the current ConfigMap, so within 40 s in the worst case.
 */
export const CONFIGMAP_WATCH = {
  watchTimeoutSeconds: 30,
  idleTimeoutMs: 35_000,
  relistIntervalMs: 5 * 60_000,
} as const;

/** Watches one ConfigMap by name (see listWatch for how it recovers). */
export function watchConfigMap(kubeConfig: KubeConfig, namespace: string, name: string, handlers: ConfigMapHandlers, log: Logger): ConfigMapWatch {
  return listWatch<ConfigMapObject>(
    kubeHttp(kubeConfig),
    { path: `/api/v1/namespaces/${namespace}/configmaps`, fieldSelector: `metadata.name=${name}`, ...CONFIGMAP_WATCH },
    {
      upsert: (cm) => {
        if (cm.metadata?.name === name) handlers.onUpsert(observed(cm));
      },
      remove: (cm) => handlers.onDelete(cm.metadata?.name ?? name),
    },
    log.child({ component: 'configmap-watch', namespace, name }),
  );
}

function observed(cm: ConfigMapObject): ObservedConfigMap {
  return {
    name: cm.metadata?.name ?? '',
    namespace: cm.metadata?.namespace ?? '',
    uid: cm.metadata?.uid ?? '',
    resourceVersion: cm.metadata?.resourceVersion ?? '',
    data: cm.data ?? {},
  };
}
