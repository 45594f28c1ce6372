import type { WorkloadKind } from '../components/component.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

/** Writes to a Wutong StatefulSet or Deployment: the controller's release of an upgrade hold. */
export interface WorkloadPatcher {
  /**
   * A JSON merge patch guarded by `resourceVersion` (the version the change
   * was decided on): 'gone' when the workload no longer exists; a conflict
   * (409: it changed meanwhile) throws, so the queue decides again on the
   * newer version.
   */
  patch(kind: WorkloadKind, namespace: string, name: string, patch: Record<string, unknown>, resourceVersion: string): Promise<'patched' | 'gone'>;
}

const RESOURCES: Readonly<Record<WorkloadKind, string>> = { StatefulSet: 'statefulsets', Deployment: 'deployments' };

export function workloadPatcher(http: KubeHttp, timeoutMs: number): WorkloadPatcher {
  return {
    async patch(kind, namespace, name, patch, resourceVersion) {
      const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${RESOURCES[kind]}/${encodeURIComponent(name)}`;
      const metadata = { ...((patch.metadata as Record<string, unknown> | undefined) ?? {}), resourceVersion };
      const response = await http.send('PATCH', path, { ...patch, metadata }, timeoutMs);
      if (response.status === 200) return 'patched';
      if (response.status === 404) return 'gone';
      throw unexpectedAnswer(response, `patch ${kind} ${namespace}/${name}`);
    },
  };
}
