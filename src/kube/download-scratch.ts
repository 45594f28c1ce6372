// The cluster objects of a download outside Velero's (src/download/): the
// scratch namespaces (found by their label), the pods in one (Velero's
// restored pods and the holder) and the holder's Secret (created only,
// never read: its fingerprint is kept in the record). Read live, not
// from a watch: a handful of downloads at a time, each decided every few
// seconds. Every call bounded by timeoutMs.
import { SCRATCH_NAMESPACE_LABEL } from '../download/download-request.js';
import { isObject } from '../is-object.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

export interface ScratchNamespace {
  name: string;
  /** Its label's value: the download request record it was made for. */
  record: string;
  terminating: boolean;
}

export interface ScratchPodState {
  name: string;
  uid: string;
  phase: string;
  podIP?: string;
  deleting: boolean;
  initContainers: { name: string; image?: string }[];
}

export interface DownloadScratch {
  namespace(name: string): Promise<ScratchNamespace | undefined>;
  /** Every scratch namespace (label backup.wutong.io/download). */
  namespaces(): Promise<ScratchNamespace[]>;
  createNamespace(object: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** Deletes the namespace and everything in it; false when it was already gone. */
  deleteNamespace(name: string): Promise<boolean>;
  pods(namespace: string): Promise<ScratchPodState[]>;
  createPod(object: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** Deletes at once (grace 0): nothing in the pod may run on. uid precondition. */
  deletePod(namespace: string, name: string, uid: string): Promise<boolean>;
  createSecret(object: Record<string, unknown>): Promise<'created' | 'exists'>;
}

const nsPath = (name?: string): string => `/api/v1/namespaces${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function viewNamespace(raw: unknown): ScratchNamespace | undefined {
  if (!isObject(raw) || !isObject(raw.metadata)) return undefined;
  const meta = raw.metadata;
  const labels = isObject(meta.labels) ? meta.labels : {};
  return { name: text(meta.name), record: text(labels[SCRATCH_NAMESPACE_LABEL]), terminating: typeof meta.deletionTimestamp === 'string' };
}

function viewPod(raw: unknown): ScratchPodState | undefined {
  if (!isObject(raw) || !isObject(raw.metadata)) return undefined;
  const spec = isObject(raw.spec) ? raw.spec : {};
  const status = isObject(raw.status) ? raw.status : {};
  const inits = (Array.isArray(spec.initContainers) ? spec.initContainers : []).filter(isObject);
  return {
    name: text(raw.metadata.name),
    uid: text(raw.metadata.uid),
    phase: text(status.phase) || 'Pending',
    ...(text(status.podIP) ? { podIP: text(status.podIP) } : {}),
    deleting: typeof raw.metadata.deletionTimestamp === 'string',
    initContainers: inits.map((c) => ({ name: text(c.name), ...(typeof c.image === 'string' ? { image: c.image } : {}) })),
  };
}

export function downloadScratch(http: KubeHttp, timeoutMs: number): DownloadScratch {
  const create = async (path: string, object: Record<string, unknown>, what: string): Promise<'created' | 'exists'> => {
    const response = await http.send('POST', path, object, timeoutMs);
    if (response.status === 201 || response.status === 200) return 'created';
    if (response.status === 409) return 'exists';
    throw unexpectedAnswer(response, `create ${what}`);
  };
  const items = (body: unknown): unknown[] => (isObject(body) && Array.isArray(body.items) ? body.items : []);
  return {
    async namespace(name) {
      const response = await http.send('GET', nsPath(name), undefined, timeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get namespace ${name}`);
      return viewNamespace(response.body);
    },
    async namespaces() {
      const body = await http.getJson(nsPath(), { labelSelector: SCRATCH_NAMESPACE_LABEL }, timeoutMs);
      return items(body).flatMap((raw) => viewNamespace(raw) ?? []);
    },
    createNamespace: (object) => create(nsPath(), object, `namespace ${text((object.metadata as { name?: unknown } | undefined)?.name)}`),
    async deleteNamespace(name) {
      const response = await http.send('DELETE', nsPath(name), undefined, timeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete namespace ${name}`);
    },
    async pods(namespace) {
      const body = await http.getJson(`${nsPath(namespace)}/pods`, {}, timeoutMs);
      return items(body).flatMap((raw) => viewPod(raw) ?? []);
    },
    createPod: (object) => {
      const meta = (object.metadata ?? {}) as { namespace?: string; name?: string };
      return create(`${nsPath(meta.namespace ?? '')}/pods`, object, `pod ${meta.namespace ?? ''}/${meta.name ?? ''}`);
    },
    async deletePod(namespace, name, uid) {
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } };
      const response = await http.send('DELETE', `${nsPath(namespace)}/pods/${encodeURIComponent(name)}`, body, timeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete pod ${namespace}/${name}`);
    },
    createSecret: (object) => {
      const meta = (object.metadata ?? {}) as { namespace?: string; name?: string };
      return create(`${nsPath(meta.namespace ?? '')}/secrets`, object, `secret ${meta.namespace ?? ''}/${meta.name ?? ''}`);
    },
  };
}
