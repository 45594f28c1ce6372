import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

/** What the controller reads of a namespace: its labels, and whether it is being deleted. */
export interface NamespaceFacts {
  labels: Record<string, string>;
  terminating: boolean;
}

/** One namespace, read live; undefined when it does not exist. */
export async function readNamespace(http: KubeHttp, name: string, timeoutMs: number): Promise<NamespaceFacts | undefined> {
  const response = await http.send('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`, undefined, timeoutMs);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw unexpectedAnswer(response, `get namespace ${name}`);
  const metadata = (response.body as { metadata?: { labels?: Record<string, string>; deletionTimestamp?: string } } | undefined)?.metadata;
  return { labels: metadata?.labels ?? {}, terminating: Boolean(metadata?.deletionTimestamp) };
}

/** Whether a namespace exists (a live GET, bounded by timeoutMs). */
export function namespaceReader(http: KubeHttp, timeoutMs: number): (name: string) => Promise<boolean> {
  return async (name) => (await readNamespace(http, name, timeoutMs)) !== undefined;
}
