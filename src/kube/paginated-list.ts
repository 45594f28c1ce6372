import type { KubeHttp } from './kube-http.js';

/** Items per page: the API server's own chunk size for its internal lists (and kubectl's default --chunk-size). */
const PAGE_SIZE = 500;

interface ListPage {
  items?: unknown[];
  metadata?: { continue?: string };
}

/**
 * Every item of a collection, one page at a time (limit/continue), so a
 * cluster of 100,000 Backups is never one answer held in the API server and
 * the client at once. Each page has its own timeout; a continue token that
 * expires (410) fails the whole list, as kubectl does.
 */
export async function listAllPages(http: KubeHttp, path: string, query: Readonly<Record<string, string>>, pageTimeoutMs: number): Promise<unknown[]> {
  const items: unknown[] = [];
  let token: string | undefined;
  do {
    const page = (await http.getJson(path, { ...query, limit: String(PAGE_SIZE), ...(token ? { continue: token } : {}) }, pageTimeoutMs)) as ListPage;
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}
