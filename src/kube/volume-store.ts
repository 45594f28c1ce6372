import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

/** Reads and patches the PersistentVolumes the data guard keeps; every call bounded by a timeout. */
export interface VolumeStore {
  /** The PV as the API server has it now; undefined when it does not exist. */
  get(name: string): Promise<unknown>;
  /** A JSON merge patch (carrying the resourceVersion it was decided on: 409 throws, and the queue decides again on a fresh read); 'gone' on 404. */
  patch(name: string, patch: unknown): Promise<'patched' | 'gone'>;
}

const volumePath = (name: string): string => `/api/v1/persistentvolumes/${encodeURIComponent(name)}`;

export function volumeStore(http: KubeHttp, requestTimeoutMs: number): VolumeStore {
  return {
    async get(name) {
      const response = await http.send('GET', volumePath(name), undefined, requestTimeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get PersistentVolume ${name}`);
      return response.body;
    },
    async patch(name, patch) {
      const response = await http.send('PATCH', volumePath(name), patch, requestTimeoutMs);
      if (response.status === 200) return 'patched';
      if (response.status === 404) return 'gone';
      throw unexpectedAnswer(response, `patch PersistentVolume ${name}`);
    },
  };
}
