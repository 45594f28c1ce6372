import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

/** Our annotations (null removes one) and the whole finalizer list, for one PVC. */
export interface ClaimMetadataPatch {
  annotations?: Record<string, string | null>;
  /** Replaces the list: a JSON merge patch cannot add to an array, hence the resourceVersion precondition. */
  finalizers?: string[];
}

/** Writes the controller's marks and finalizer on PVCs; every call bounded by a timeout. */
export interface ClaimPatcher {
  /**
   * A JSON merge patch of the PVC's metadata, guarded by `resourceVersion`
   * (the version the decision was made on): a PVC that changed meanwhile
   * answers 409, which throws so the work queue decides again on the newer
   * version. 'gone' when the PVC no longer exists. Without `resourceVersion`
   * the patch is unguarded: only for annotations of ours that no other
   * decision reads against the rest of the object (a merge patch of one
   * annotation cannot undo anyone else's write).
   */
  patch(namespace: string, name: string, patch: ClaimMetadataPatch, resourceVersion: string | undefined): Promise<'patched' | 'gone'>;
  /**
   * Deletes the PVC if it is still the one with this uid (a restore that
   * replaces deletes the claims whose data it restores, so Velero recreates
   * them); false when it was already gone or replaced.
   */
  remove(namespace: string, name: string, uid: string): Promise<boolean>;
}

const claimPath = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}`;

export function claimPatcher(http: KubeHttp, requestTimeoutMs: number): ClaimPatcher {
  return {
    async patch(namespace, name, patch, resourceVersion) {
      const body = { metadata: { ...(resourceVersion === undefined ? {} : { resourceVersion }), ...patch } };
      const response = await http.send('PATCH', claimPath(namespace, name), body, requestTimeoutMs);
      if (response.status === 200) return 'patched';
      if (response.status === 404) return 'gone';
      throw unexpectedAnswer(response, `patch PersistentVolumeClaim ${namespace}/${name}`);
    },
    async remove(namespace, name, uid) {
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } };
      const response = await http.send('DELETE', claimPath(namespace, name), body, requestTimeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete PersistentVolumeClaim ${namespace}/${name}`);
    },
  };
}
