import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { apiRequest } from '../cluster/cluster.js';
import { VELERO_RESTORE_HELPER_JS } from './container-images.js';
import { dataPodHost } from './data-pod-host.js';
import { clusterInfo } from './kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './kubelet-stand-in.js';
import { onNode, startLocalProvisionerStandIn, STAND_IN_PROVISIONER } from './local-provisioner-stand-in.js';
import type { NodeRuntime } from './node-runtime.js';

/**
 * THE DATA-BEARING NODE (test helper): a Node whose kubelet stand-in runs
 * pods for real (data-pod-host.ts: volumes as directories, known images as
 * processes, exec), with a local-directory provisioner stand-in
 * (local-provisioner-stand-in.ts) and helpers that make the static PVs an
 * administrator would: `local` ones (Velero backs them up with its file
 * system backup) and `hostPath` ones (Velero skips those). Everything lives
 * under one root directory:
 *
 *   <root>/pods/<pod uid>/volumes/<plugin>/<dir>  the kubelet's pod directories
 *   <root>/volumes/<ns>_<claim>_pvc-<uid>         dynamically provisioned volumes
 *   <root>/local/<pv name>, <root>/host/<pv name> static local / hostPath volumes
 *   <root>/logs/<ns>_<pod>_<uid>/<container>/<n>.log  container output
 */
export interface DataNode {
  /** The kubelet stand-in (runPods, stop) of this node. */
  kubelet: KubeletStandIn;
  /** What the Velero stand-in's node agent uses: volume directories and exec. */
  runtime: NodeRuntime;
  nodeName: string;
  root: string;
  /**
   * The StorageClass this node's provisioner serves with `reclaimPolicy`
   * (created on first use; provisioner STAND_IN_PROVISIONER, binding mode
   * Immediate). Its name is `<node name>-delete` or `<node name>-retain`.
   */
  storageClass(reclaimPolicy?: 'Delete' | 'Retain'): Promise<string>;
  /** A static `local` PV whose directory lives on this node (returned); pre-bound to `claim` when given. */
  createLocalPv(name: string, options?: StaticPvOptions): Promise<{ name: string; path: string }>;
  /** A static `hostPath` PV (Velero's file system backup skips hostPath volumes). */
  createHostPathPv(name: string, options?: StaticPvOptions): Promise<{ name: string; path: string }>;
  /** Kills every process, stops the provisioner, deletes this node's PVs, StorageClasses and Node; removes the root unless keepRoot. */
  stop(options?: { keepRoot?: boolean }): Promise<void>;
}

export interface StaticPvOptions {
  capacity?: string;
  /** Default '' (no class): a claim with storageClassName '' binds it. */
  storageClassName?: string;
  /** Pre-binds the PV to this claim (the PV controller completes the binding). */
  claim?: { namespace: string; name: string };
  reclaimPolicy?: 'Retain' | 'Delete';
}

export interface DataNodeOptions {
  /** The node root; default a fresh directory under os.tmpdir(). */
  root?: string;
}

export async function startDataNode(nodeName: string, options: DataNodeOptions = {}): Promise<DataNode> {
  const root = options.root ?? mkdtempSync(join(tmpdir(), `data-node-${nodeName}-`));
  const binDir = join(root, 'bin');
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, 'velero-restore-helper.cjs'), VELERO_RESTORE_HELPER_JS);
  const nodeLabels = { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' };
  const host = dataPodHost({ nodeName, root, nodeLabels, binDir });
  const kubelet = await startKubeletStandIn(nodeName, { host });
  const provisioner = startLocalProvisionerStandIn(nodeName, root);
  const info = clusterInfo();
  const classes = new Set<string>();

  const staticPv = async (kind: 'local' | 'host', name: string, pvOptions: StaticPvOptions): Promise<{ name: string; path: string }> => {
    const path = join(root, kind, name);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: {
        capacity: { storage: pvOptions.capacity ?? '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: pvOptions.reclaimPolicy ?? 'Retain',
        storageClassName: pvOptions.storageClassName ?? '',
        ...(pvOptions.claim ? { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', ...pvOptions.claim } } : {}),
        ...(kind === 'local' ? { local: { path }, nodeAffinity: onNode(nodeName) } : { hostPath: { path, type: 'Directory' } }),
      },
    };
    const res = await apiRequest(info, 'POST', '/api/v1/persistentvolumes', pv);
    if (res.status !== 201) throw new Error(`creating PV ${name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    return { name, path };
  };

  return {
    kubelet,
    runtime: host.runtime,
    nodeName,
    root,
    async storageClass(reclaimPolicy = 'Delete') {
      const name = `${nodeName}-${reclaimPolicy.toLowerCase()}`;
      if (classes.has(name)) return name;
      const res = await apiRequest(info, 'POST', '/apis/storage.k8s.io/v1/storageclasses', {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name },
        provisioner: STAND_IN_PROVISIONER,
        parameters: { node: nodeName },
        reclaimPolicy,
        volumeBindingMode: 'Immediate',
      });
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating StorageClass ${name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
      classes.add(name);
      return name;
    },
    createLocalPv: (name, pvOptions = {}) => staticPv('local', name, pvOptions),
    createHostPathPv: (name, pvOptions = {}) => staticPv('host', name, pvOptions),
    async stop(stopOptions = {}) {
      await kubelet.stop();
      await provisioner.stop();
      const pvs = await apiRequest(info, 'GET', '/api/v1/persistentvolumes');
      for (const pv of (pvs.json as { items?: V1PersistentVolume[] } | undefined)?.items ?? []) {
        const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path ?? '';
        if (path.startsWith(`${root}/`)) await apiRequest(info, 'DELETE', `/api/v1/persistentvolumes/${pv.metadata?.name ?? ''}`).catch(() => undefined);
      }
      for (const name of classes) await apiRequest(info, 'DELETE', `/apis/storage.k8s.io/v1/storageclasses/${name}`).catch(() => undefined);
      if (!stopOptions.keepRoot) rmSync(root, { recursive: true, force: true });
    },
  };
}
