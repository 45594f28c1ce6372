import { CoreV1Api, ListWatch, Watch, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';

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

export interface ConfigMapWatch {
  /** Resolves once the first list has been delivered (or failed). */
  start(): Promise<void>;
  stop(): void;
}

function observed(cm: V1ConfigMap): ObservedConfigMap {
  return {
    name: cm.metadata?.name ?? '',
    namespace: cm.metadata?.namespace ?? '',
    uid: cm.metadata?.uid ?? '',
    resourceVersion: cm.metadata?.resourceVersion ?? '',
    data: cm.data ?? {},
  };
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Watches one ConfigMap by name: list, then watch from that resourceVersion.
 * client-node's ListWatch relists on 410 Gone and resumes after a watch
 * times out, but on any other error it only emits "error" and stops; this
 * restarts it with capped exponential backoff so a flaky API server never
 * leaves a replica deaf to policy changes.
 */
export function watchConfigMap(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  handlers: ConfigMapHandlers,
  log: Logger,
): ConfigMapWatch {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${name}`;
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const informer = new ListWatch<V1ConfigMap>(
    path,
    new Watch(kubeConfig),
    () => api.listNamespacedConfigMap({ namespace, fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  let stopped = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const deliver = (cm: V1ConfigMap): void => {
    failures = 0;
    if (cm.metadata?.name === name) handlers.onUpsert(observed(cm));
  };
  informer.on('add', deliver);
  informer.on('update', deliver);
  informer.on('delete', (cm) => handlers.onDelete(cm.metadata?.name ?? name));
  informer.on('connect', () => log.debug({ namespace, name }, 'configmap watch connected'));

  const restart = (): void => {
    if (stopped) return;
    informer.start().catch((err: unknown) => onError(err));
  };
  const onError = (err: unknown): void => {
    if (stopped) return;
    failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 8));
    log.warn({ namespace, name, err: (err as Error)?.message ?? String(err), retryInMs: delay }, 'configmap watch failed; retrying');
    clearTimeout(retry);
    retry = setTimeout(restart, delay);
  };
  informer.on('error', onError);

  return {
    start: async () => {
      try {
        await informer.start();
      } catch (err) {
        onError(err);
      }
    },
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      void informer.stop();
    },
  };
}
