import type { BackfillPatch } from '../controller/backfill-patch.js';
import { KubeHttpError, unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { forEachPage } from './paginated-list.js';

export type PodPatchOutcome =
  | { outcome: 'patched'; pod: unknown }
  /** The pod no longer exists: nothing left to do. */
  | { outcome: 'gone' }
  /** The pod changed since the patch's resourceVersion: read it again and recompute. */
  | { outcome: 'conflict' };

/** Reads and patches pods' metadata for the backfill; every call bounded by a timeout. */
export interface PodMetadataPatcher {
  /** The pod as the API server has it now; undefined when it is gone. */
  read(namespace: string, name: string): Promise<unknown>;
  /** A JSON merge patch of labels and annotations, guarded by the resourceVersion it carries. */
  patch(namespace: string, name: string, patch: BackfillPatch): Promise<PodPatchOutcome>;
  /**
   * Every Running pod matching labelSelector, across namespaces, page by page
   * (limit + continue, each page its own request and timeout), so a cluster
   * of many pods is never one huge answer held at once.
   */
  listRunning(labelSelector: string, onPage: (pods: unknown[]) => void): Promise<void>;
}

export interface PodMetadataPatcherOptions {
  requestTimeoutMs: number;
  /** Bound on each page of a list (500 pods can take longer than a single read). */
  pageTimeoutMs: number;
  /** Pods per page; default 500. */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 500;

const podPath = (namespace: string, name: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;

export function podMetadataPatcher(http: KubeHttp, options: PodMetadataPatcherOptions): PodMetadataPatcher {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  return {
    async read(namespace, name) {
      const response = await http.send('GET', podPath(namespace, name), undefined, options.requestTimeoutMs);
      // 404: the pod (or its whole namespace) is gone; either way there is nothing to patch.
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get pod ${namespace}/${name}`);
      return response.body;
    },
    async patch(namespace, name, patch) {
      const response = await http.send('PATCH', podPath(namespace, name), patch, options.requestTimeoutMs);
      if (response.status === 200) return { outcome: 'patched', pod: response.body };
      if (response.status === 404) return { outcome: 'gone' };
      if (response.status === 409) return { outcome: 'conflict' };
      throw unexpectedAnswer(response, `patch pod ${namespace}/${name}`);
    },
    async listRunning(labelSelector, onPage) {
      const query: Record<string, string> = { fieldSelector: 'status.phase=Running', ...(labelSelector ? { labelSelector } : {}) };
      try {
        await forEachPage(http, '/api/v1/pods', query, options.pageTimeoutMs, onPage, pageSize);
      } catch (err) {
        // 410: the continue token outlived etcd's compaction window. The sweep is level-based, so starting over loses nothing; once.
        if (!(err instanceof KubeHttpError && err.status === 410)) throw err;
        await forEachPage(http, '/api/v1/pods', query, options.pageTimeoutMs, onPage, pageSize);
      }
    },
  };
}
