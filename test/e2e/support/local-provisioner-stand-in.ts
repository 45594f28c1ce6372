import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { apiRequest } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';

/**
 * A DYNAMIC PROVISIONER STAND-IN for the data-bearing node (test helper):
 * an external provisioner of local directories, playing by the rules of
 * kubernetes-sigs/sig-storage-lib-external-provisioner v6 controller/controller.go
 * together with kube-controller-manager v1.20's PV controller, which runs
 * here for real:
 *
 * - the PV controller marks an unbound claim of a class whose provisioner it
 *   does not have in-tree with annotation volume.beta.kubernetes.io/storage-provisioner
 *   = the class's provisioner (pkg/controller/volume/persistentvolume/
 *   pv_controller.go provisionClaimOperationExternal → setClaimProvisioner,
 *   pv_controller_base.go L550-570);
 * - shouldProvision: the claim has no volumeName and that annotation names
 *   this provisioner; a WaitForFirstConsumer class also needs
 *   volume.kubernetes.io/selected-node (set by the scheduler, which does not
 *   run here: only Immediate classes provision unless a test sets it);
 * - provisionClaimOperation: the PV is named pvc-<claim uid>, carries
 *   pv.kubernetes.io/provisioned-by, a claimRef to the claim (with its uid),
 *   the class's reclaimPolicy (default Delete), mountOptions and name, the
 *   claim's access modes, size and volumeMode; the PV controller then binds
 *   the claim to it;
 * - shouldDelete: a Released PV this provisioner provisioned, reclaim policy
 *   Delete, no deletionTimestamp; Delete removes the directory, then the PV.
 *   Retain keeps both, as in any cluster.
 *
 * The volume is a new directory under <node root>/volumes with node affinity
 * to this node, as a local-path provisioner makes it. Many test files run at
 * once, each with its own data node: a StorageClass says which node's
 * provisioner serves it with parameter `node`; the others leave its claims
 * alone (the library's IgnoredError).
 */
export const STAND_IN_PROVISIONER = 'stand-in.wutong.io/local';
export const ANN_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const POLL_MS = 300;

export interface ProvisionerStandIn {
  stop(): Promise<void>;
}

/** The node affinity of a volume that lives on `nodeName` (local PVs require one). */
export function onNode(nodeName: string): NonNullable<V1PersistentVolume['spec']>['nodeAffinity'] {
  return { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } };
}

const claimClass = (claim: V1PersistentVolumeClaim): string | undefined =>
  claim.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? claim.spec?.storageClassName;

export function startLocalProvisionerStandIn(nodeName: string, root: string): ProvisionerStandIn {
  const info = clusterInfo();
  const volumesRoot = join(root, 'volumes');
  let stopped = false;
  const inFlight = new Set<string>();

  const provision = async (claim: V1PersistentVolumeClaim, storageClass: V1StorageClass): Promise<void> => {
    const uid = claim.metadata?.uid ?? '';
    const pvName = `pvc-${uid}`;
    const existing = await apiRequest(info, 'GET', `/api/v1/persistentvolumes/${pvName}`);
    if (existing.status === 200) return; // provisioned already: the PV controller binds it
    const dir = join(volumesRoot, `${claim.metadata?.namespace ?? ''}_${claim.metadata?.name ?? ''}_${pvName}`);
    mkdirSync(dir, { recursive: true });
    // Writable by any container user, as local-path provisioners make it (mkdir's mode is cut by the umask).
    chmodSync(dir, 0o777);
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: STAND_IN_PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
        storageClassName: storageClass.metadata?.name ?? '',
        ...(storageClass.mountOptions ? { mountOptions: storageClass.mountOptions } : {}),
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        claimRef: {
          kind: 'PersistentVolumeClaim',
          apiVersion: 'v1',
          namespace: claim.metadata?.namespace ?? '',
          name: claim.metadata?.name ?? '',
          uid,
          resourceVersion: claim.metadata?.resourceVersion ?? '',
        },
        local: { path: dir },
        nodeAffinity: onNode(nodeName),
      },
    };
    const created = await apiRequest(info, 'POST', '/api/v1/persistentvolumes', pv);
    // The library deletes the volume it made when it cannot save the PV (after retries).
    if (created.status !== 201 && created.status !== 409) rmSync(dir, { recursive: true, force: true });
  };

  const reclaim = async (pv: V1PersistentVolume): Promise<void> => {
    const path = pv.spec?.local?.path;
    if (!path || !path.startsWith(`${volumesRoot}/`)) return; // another node's volume
    rmSync(path, { recursive: true, force: true });
    await apiRequest(info, 'DELETE', `/api/v1/persistentvolumes/${pv.metadata?.name ?? ''}`);
  };

  const once = (key: string, work: () => Promise<void>): void => {
    if (inFlight.has(key)) return;
    inFlight.add(key);
    void work().catch(() => undefined).finally(() => inFlight.delete(key));
  };

  const tick = async (): Promise<void> => {
    const classesRes = await apiRequest(info, 'GET', '/apis/storage.k8s.io/v1/storageclasses');
    const classes = new Map<string, V1StorageClass>();
    for (const sc of (classesRes.json as { items?: V1StorageClass[] } | undefined)?.items ?? []) {
      if (sc.provisioner === STAND_IN_PROVISIONER && sc.parameters?.node === nodeName && sc.metadata?.name) classes.set(sc.metadata.name, sc);
    }
    if (classes.size > 0) {
      const claimsRes = await apiRequest(info, 'GET', '/api/v1/persistentvolumeclaims');
      for (const claim of (claimsRes.json as { items?: V1PersistentVolumeClaim[] } | undefined)?.items ?? []) {
        const className = claimClass(claim);
        const storageClass = className === undefined ? undefined : classes.get(className);
        if (!storageClass || claim.spec?.volumeName) continue;
        if (claim.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] !== STAND_IN_PROVISIONER) continue;
        if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && claim.metadata?.annotations?.[ANN_SELECTED_NODE] !== nodeName) continue;
        once(`provision/${claim.metadata?.uid ?? ''}`, () => provision(claim, storageClass));
      }
    }
    const pvsRes = await apiRequest(info, 'GET', '/api/v1/persistentvolumes');
    for (const pv of (pvsRes.json as { items?: V1PersistentVolume[] } | undefined)?.items ?? []) {
      if (pv.metadata?.annotations?.[ANN_PROVISIONED_BY] !== STAND_IN_PROVISIONER) continue;
      if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete' || pv.metadata.deletionTimestamp) continue;
      once(`delete/${pv.metadata.name ?? ''}`, () => reclaim(pv));
    }
  };

  let loop: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    loop = new Promise((resolve) => setTimeout(() => {
      tick().catch(() => undefined).finally(() => {
        resolve();
        schedule();
      });
    }, POLL_MS));
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
