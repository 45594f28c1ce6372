import type { KubeHttp } from './kube-http.js';

/** Items per page: the API server's own chunk size for its internal lists (and kubectl's default --chunk-size). */
const PAGE_SIZE = 500;

interface ListPage {
  items?: unknown[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/**
 * One consistent list of a collection, a page at a time (limit/continue,
 * what client-go's pager does), handing each page to `onPage`: a cluster of
 * 100,000 Backups is never one answer held in the API server and the client
 * at once, and each page has its own timeout. Every page comes from the
 * first page's snapshot, so the last page's resourceVersion is the list's.
 * A continue token that expired answers 410 (KubeHttpError), for the caller
 * to start again or give up.
 */
export async function forEachPage(
  http: KubeHttp,
  path: string,
  query: Readonly<Record<string, string>>,
  pageTimeoutMs: number,
  onPage: (items: unknown[]) => void,
  pageSize = PAGE_SIZE,
): Promise<{ resourceVersion: string }> {
  let token: string | undefined;
  let resourceVersion = '';
  do {
    const page = (await http.getJson(path, { ...query, limit: String(pageSize), ...(token ? { continue: token } : {}) }, pageTimeoutMs)) as ListPage;
    onPage(page.items ?? []);
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    token = page.metadata?.continue || undefined;
  } while (token);
  return { resourceVersion };
}

/** Every item of a collection (forEachPage); an expired continue token fails the whole list, as kubectl does. */
export async function listAllPages(http: KubeHttp, path: string, query: Readonly<Record<string, string>>, pageTimeoutMs: number): Promise<unknown[]> {
  const items: unknown[] = [];
  await forEachPage(http, path, query, pageTimeoutMs, (page) => items.push(...page));
  return items;
}
