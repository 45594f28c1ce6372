// LOCAL STAND-IN for the lead's foundation (H-DESIGN.md item 7); replaced by main's version on merge.
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

export interface ClaimMetadataPatch {
  annotations?: Record<string, string | null>;
  finalizers?: string[];
}
export interface ClaimPatcher {
  patch(namespace: string, name: string, patch: ClaimMetadataPatch, resourceVersion: string): Promise<'patched' | 'gone'>;
}

export function claimPatcher(http: KubeHttp, requestTimeoutMs: number): ClaimPatcher {
  return {
    async patch(namespace, name, patch, resourceVersion) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}`;
      const response = await http.send('PATCH', path, { metadata: { resourceVersion, ...patch } }, requestTimeoutMs);
      if (response.status === 200) return 'patched';
      if (response.status === 404) return 'gone';
      throw unexpectedAnswer(response, `patch PersistentVolumeClaim ${namespace}/${name}`);
    },
  };
}
