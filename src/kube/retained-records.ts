// The records of retained volumes: ConfigMaps labelled
// backup.wutong.io/retained-volume in the project's namespace. Written by the
// data guard (create only: one per PV, by name, so a retry meets its own
// record; never read back by name, so the ServiceAccount needs no get on
// ConfigMaps), watched by every replica for the retained-volumes gauge,
// listed by `wutong-backup status`.
import type { Logger } from 'pino';
import { PROTECTION_LABEL } from '../components/protection-keys.js';
import { readRetainedRecord, type RetainedRecord } from '../controller/retained-volume.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';
import { listAllPages } from './paginated-list.js';

export interface RetainedRecordStore {
  /** 'exists': a record by that name was already there (an earlier pass wrote it before a crash). */
  create(record: unknown): Promise<'created' | 'exists'>;
}

export type ListedRecord = RetainedRecord & { recordName: string };

const collection = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
const SELECTOR = PROTECTION_LABEL.retainedVolume;

export function retainedRecordStore(http: KubeHttp, namespace: string, requestTimeoutMs: number): RetainedRecordStore {
  return {
    async create(record) {
      const response = await http.send('POST', collection(namespace), record, requestTimeoutMs);
      if (response.status === 201 || response.status === 200) return 'created';
      if (response.status === 409) return 'exists';
      throw unexpectedAnswer(response, `create a retained-volume record in ${namespace}`);
    },
  };
}

/** Every record, once (the status command). */
export async function listRetainedRecords(http: KubeHttp, namespace: string, pageTimeoutMs: number): Promise<ListedRecord[]> {
  const items = await listAllPages(http, collection(namespace), { labelSelector: SELECTOR }, pageTimeoutMs);
  return items.map(readRetainedRecord).filter((r): r is ListedRecord => r !== undefined);
}

/** Keeps the names of the records (for the gauge): a list-watch, as every other watch of the project. */
export function watchRetainedRecords(http: KubeHttp, namespace: string, log: Logger): { watch: ListWatch; count(): number } {
  const names = new Set<string>();
  const watch = listWatch<{ metadata?: { name?: string } }>(
    http,
    { path: collection(namespace), labelSelector: SELECTOR, watchTimeoutSeconds: 300, relistIntervalMs: 15 * 60_000 },
    {
      upsert: (o) => names.add(o.metadata?.name ?? ''),
      remove: (o) => names.delete(o.metadata?.name ?? ''),
    },
    log.child({ component: 'retained-records' }),
  );
  return { watch, count: () => names.size };
}
