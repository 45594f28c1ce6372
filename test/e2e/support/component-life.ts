// A Wutong component's life as the protection tests drive it: run it on a
// PV of its own (bound by the real PV binder), stop it the way Wutong's
// worker does, and read its PVC as kubectl would. Shared by the deletion
// guard and the backup on stop, which both start from "it ran, then it
// stopped".
import { apiRequest } from '../cluster/cluster.js';
import type { BackupApiTestbed } from './backup-api-testbed.js';
import { clusterInfo } from './kube.js';
import { eventually } from './wait.js';
import { claimNameOf, createWutongVolume, startWutongComponent, stopWutongComponent, type WutongComponent } from './wutong-component.js';

export interface ClaimJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; finalizers?: string[]; annotations?: Record<string, string> };
  status?: { phase?: string };
}

export const RAN_UNTIL = 'backup.wutong.io/ran-until';

export async function claimOf(c: WutongComponent): Promise<ClaimJson | undefined> {
  const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${c.namespace}/persistentvolumeclaims/${claimNameOf(c)}`);
  return res.status === 200 ? (res.json as ClaimJson) : undefined;
}

export interface RunOptions {
  alias: string;
  serviceId: string;
  /** What the kubelet stand-in runs (default: every pod of the component, its holder pods included). */
  runSelector?: string;
  /** What the controller must have written on the bound PVC before the test goes on (its finalizer, its run mark). */
  ready: (claim: ClaimJson) => boolean;
  /** The components made, for the caller's teardown of their PVs (cluster-scoped: the namespace's deletion does not take them). */
  made: WutongComponent[];
}

/** A running Wutong component in the testbed's namespace, its PVC bound to its own Wutong-style PV and `ready`. */
export async function runComponent(bed: Pick<BackupApiTestbed, 'apps' | 'core' | 'kubelet' | 'component'>, options: RunOptions): Promise<{ c: WutongComponent; volume: string }> {
  const { alias, serviceId } = options;
  const c: WutongComponent = { serviceId, alias, tenant: bed.component.tenant, env: bed.component.env, namespace: bed.component.namespace, path: `/v2/tenants/${bed.component.tenant}/envs/${bed.component.env}/services/${alias}` };
  options.made.push(c);
  const volume = await createWutongVolume(c);
  bed.kubelet.runPods(c.namespace, options.runSelector ?? `service_id=${serviceId}`);
  await startWutongComponent(bed.apps, bed.core, c);
  await eventually(async () => {
    const claim = await claimOf(c);
    return claim?.status?.phase === 'Bound' && options.ready(claim) ? true : undefined;
  }, `${alias}: PVC bound and ready`, 60_000, 250);
  return { c, volume };
}

/** Wutong's stop, then the run mark the controller writes on the PVC (the time the data stopped changing). */
export async function stopComponent(bed: Pick<BackupApiTestbed, 'apps' | 'core'>, c: WutongComponent): Promise<string> {
  await stopWutongComponent(bed.apps, bed.core, c);
  return await eventually(async () => {
    const mark = (await claimOf(c))?.metadata.annotations?.[RAN_UNTIL];
    return mark && mark !== 'running' ? mark : undefined;
  }, `${c.alias}: stop mark`, 30_000, 250);
}
