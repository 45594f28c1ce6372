import type { Logger } from 'pino';
import { isObject } from '../is-object.js';
import type { NamespaceSummary, TenantDirectory } from '../tenancy/tenant-directory.js';
import type { KubeHttp } from './kube-http.js';
import { listWatch } from './list-watch.js';

export interface TenantNamespaceWatch {
  /** Resolves once the first list is in the directory. */
  start(): Promise<void>;
  stop(): void;
  synced(): boolean;
}

/** Name and labels of a listed namespace, nothing else; undefined for what is not one. */
export function namespaceSummary(raw: unknown): NamespaceSummary | undefined {
  const meta = isObject(raw) && isObject(raw.metadata) ? raw.metadata : undefined;
  if (!meta || typeof meta.name !== 'string') return undefined;
  const labels: Record<string, string> = {};
  if (isObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  return { name: meta.name, labels };
}

/**
 * Feeds the tenant directory from a list-watch of the namespaces its
 * selector matches (the project's one listWatch: 410 relist, idle deadline,
 * backoff, periodic relist). A namespace whose labels stop matching leaves
 * the watch as a DELETED event, and so the directory.
 */
export function watchTenantNamespaces(http: KubeHttp, directory: TenantDirectory, log: Logger): TenantNamespaceWatch {
  let listed = false;
  const watch = listWatch(
    http,
    { path: '/api/v1/namespaces', labelSelector: directory.labels.selector, watchTimeoutSeconds: 300, relistIntervalMs: 15 * 60_000 },
    {
      upsert(raw) {
        const summary = namespaceSummary(raw);
        if (summary) directory.upsert(summary);
      },
      remove(raw) {
        directory.remove(raw.metadata?.name ?? '');
      },
    },
    log.child({ component: 'tenant-namespaces' }),
  );
  return {
    start: () =>
      watch.start().then(() => {
        listed = true;
      }),
    stop: () => watch.stop(),
    synced: () => listed,
  };
}
