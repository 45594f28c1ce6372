import type { CoveragePod } from '../controller/claim-coverage.js';
import { WUTONG_LABEL } from '../components/wutong-labels.js';
import { isObject } from '../is-object.js';
import type { KubeHttp } from './kube-http.js';

/** The pods a component's Backup selects (its namespace, label service_id: its own and a holder), as the coverage loop reads them. */
export interface ComponentPodReader {
  list(namespace: string, serviceId: string): Promise<CoveragePod[]>;
}

const strings = (value: unknown): Record<string, string> =>
  isObject(value) ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
const objects = (value: unknown): Array<Record<string, unknown>> => (Array.isArray(value) ? value.filter(isObject) : []);

export function coveragePodOf(raw: unknown): CoveragePod | undefined {
  if (!isObject(raw) || !isObject(raw.metadata) || typeof raw.metadata.name !== 'string') return undefined;
  const spec = isObject(raw.spec) ? raw.spec : {};
  const status = isObject(raw.status) ? raw.status : {};
  const claimVolumes = objects(spec.volumes).flatMap((v) => {
    const claim = isObject(v.persistentVolumeClaim) ? v.persistentVolumeClaim.claimName : undefined;
    return typeof v.name === 'string' && typeof claim === 'string' ? [{ volume: v.name, claim }] : [];
  });
  // Velero counts the mounts of spec.containers only (pkg/podvolume/backupper.go L194-198).
  const mounted = objects(spec.containers).flatMap((c) => objects(c.volumeMounts).flatMap((m) => (typeof m.name === 'string' ? [m.name] : [])));
  return {
    name: raw.metadata.name,
    phase: typeof status.phase === 'string' ? status.phase : '',
    deleting: typeof raw.metadata.deletionTimestamp === 'string',
    annotations: strings(raw.metadata.annotations),
    claimVolumes,
    mounted,
  };
}

export function componentPodReader(http: KubeHttp, timeoutMs: number): ComponentPodReader {
  return {
    async list(namespace, serviceId) {
      const answer = (await http.getJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { labelSelector: `${WUTONG_LABEL.serviceId}=${serviceId}` }, timeoutMs)) as { items?: unknown[] };
      return (answer.items ?? []).flatMap((item) => coveragePodOf(item) ?? []);
    },
  };
}
