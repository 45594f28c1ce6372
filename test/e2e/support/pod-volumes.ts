import { chmodSync, existsSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Volume } from '@kubernetes/client-node';
import { apiRequest } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';

/**
 * THE KUBELET'S VOLUME MANAGER, for the data-bearing node (test helper):
 * decides whether a pod's volumes can be mounted, and lays them out the way
 * the kubelet does, under <node root>/pods/<pod uid>/volumes/<plugin>/<dir>:
 * the directory Velero's node agent reads through /host_pods (vmware-tanzu/velero
 * v1.11.1 pkg/util/kube/utils.go GetVolumeDirectory). A PV's directory is a
 * symlink to its real directory (the kubelet bind-mounts it; a symlink keeps
 * the host's mount table clean and resolves to the same files).
 *
 * The rules are kubernetes v1.20 pkg/kubelet/volumemanager/populator/
 * desired_state_of_world_populator.go getPVCExtractPV (L637-667) and
 * getPVSpec (L672-697): a claim that is missing, being deleted (L654), not
 * Bound (L659) or without volumeName (L662), or a PV whose claimRef is not
 * that claim (L681-693), keeps the pod from starting; the kubelet retries.
 */
export class VolumeNotReady extends Error {}

/** The plugin directory names of pkg/volume/<plugin> (kubernetes.io~<name>). */
export const PLUGIN_DIR = {
  local: 'kubernetes.io~local-volume',
  emptyDir: 'kubernetes.io~empty-dir',
  secret: 'kubernetes.io~secret',
  configMap: 'kubernetes.io~configmap',
  projected: 'kubernetes.io~projected',
} as const;

export interface MountedVolume {
  /** The pod volume's name. */
  name: string;
  /** The resolved host directory the container sees at its mountPath. */
  hostDir: string;
  readOnly: boolean;
}

async function getJson<T>(path: string): Promise<{ status: number; body: T | undefined }> {
  const res = await apiRequest(clusterInfo(), 'GET', path);
  return { status: res.status, body: res.status === 200 ? (res.json as T) : undefined };
}

/** Does the PV's required node affinity select this node (by kubernetes.io/hostname, the only label the node stand-in carries besides os)? */
function pvOnNode(pv: V1PersistentVolume, nodeLabels: Record<string, string>): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((term) =>
    (term.matchExpressions ?? []).every((e) => {
      const value = nodeLabels[e.key];
      if (e.operator === 'In') return value !== undefined && (e.values ?? []).includes(value);
      if (e.operator === 'NotIn') return value === undefined || !(e.values ?? []).includes(value);
      if (e.operator === 'Exists') return value !== undefined;
      if (e.operator === 'DoesNotExist') return value === undefined;
      return false;
    }),
  );
}

function hostPathDir(path: string, type: string | undefined, what: string): string {
  // pkg/volume/hostpath/host_path.go checkType: DirectoryOrCreate makes it; Directory requires it; "" checks nothing.
  if (type === 'DirectoryOrCreate') mkdirSync(path, { recursive: true, mode: 0o755 });
  else if (type === 'Directory' && !existsSync(path)) throw new VolumeNotReady(`${what}: hostPath type check failed: ${path} is not a directory`);
  return path;
}

async function claimVolume(volume: V1Volume, pod: V1Pod, podDir: string, nodeLabels: Record<string, string>): Promise<string> {
  const source = volume.persistentVolumeClaim;
  if (!source) throw new Error('not a claim volume');
  const namespace = pod.metadata?.namespace ?? '';
  const claimRes = await getJson<V1PersistentVolumeClaim>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${encodeURIComponent(source.claimName)}`);
  const claim = claimRes.body;
  if (!claim) throw new VolumeNotReady(`failed to fetch PVC ${namespace}/${source.claimName} from API server: HTTP ${claimRes.status}`);
  if (claim.metadata?.deletionTimestamp) throw new VolumeNotReady(`PVC ${namespace}/${source.claimName} is being deleted`);
  if (claim.status?.phase !== 'Bound') throw new VolumeNotReady(`PVC ${namespace}/${source.claimName} is not bound`);
  const pvName = claim.spec?.volumeName;
  if (!pvName) throw new VolumeNotReady(`PVC ${namespace}/${source.claimName} has empty pvc.Spec.VolumeName`);
  const pvRes = await getJson<V1PersistentVolume>(`/api/v1/persistentvolumes/${encodeURIComponent(pvName)}`);
  const pv = pvRes.body;
  if (!pv) throw new VolumeNotReady(`failed to fetch PV ${pvName} from API server: HTTP ${pvRes.status}`);
  if (!pv.spec?.claimRef) throw new VolumeNotReady(`found PV object ${pvName} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`);
  if (pv.spec.claimRef.uid !== claim.metadata?.uid) throw new VolumeNotReady(`found PV object ${pvName} but its pv.Spec.ClaimRef.UID ${pv.spec.claimRef.uid ?? ''} does not point to claim.UID ${claim.metadata?.uid ?? ''}`);
  if (pv.spec.local) {
    // Every node of the testbed shares one filesystem: a local PV of another node is refused here, as its path would not exist there.
    if (!pvOnNode(pv, nodeLabels)) throw new VolumeNotReady(`local PV ${pvName} has node affinity for another node`);
    const path = pv.spec.local.path;
    if (!existsSync(path)) throw new VolumeNotReady(`MountVolume.SetUp failed for volume "${pvName}": path "${path}" does not exist`);
    const link = join(podDir, 'volumes', PLUGIN_DIR.local, pvName);
    mkdirSync(dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync(path, link);
    return realpathSync(link);
  }
  if (pv.spec.hostPath) return hostPathDir(pv.spec.hostPath.path, pv.spec.hostPath.type, `PV ${pvName}`);
  throw new VolumeNotReady(`PV ${pvName}: the data-bearing node mounts local and hostPath volumes only`);
}

/** secret and configMap volumes: the keys as files (pkg/volume/secret, pkg/volume/configmap), `items` honoured. */
async function keyedVolume(volume: V1Volume, pod: V1Pod, podDir: string): Promise<string> {
  const namespace = pod.metadata?.namespace ?? '';
  const secret = volume.secret;
  const configMap = volume.configMap;
  const kind = secret ? 'secrets' : 'configmaps';
  const name = secret ? (secret.secretName ?? '') : (configMap?.name ?? '');
  const items = (secret ?? configMap)?.items;
  const optional = (secret ?? configMap)?.optional === true;
  const dir = join(podDir, 'volumes', secret ? PLUGIN_DIR.secret : PLUGIN_DIR.configMap, volume.name);
  const res = await getJson<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${kind}/${encodeURIComponent(name)}`);
  if (!res.body && !optional) throw new VolumeNotReady(`MountVolume.SetUp failed for volume "${volume.name}": ${kind.slice(0, -1)} "${name}" not found`);
  const files = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(res.body?.data ?? {})) files.set(key, secret ? Buffer.from(value, 'base64') : Buffer.from(value));
  for (const [key, value] of Object.entries(res.body?.binaryData ?? {})) files.set(key, Buffer.from(value, 'base64'));
  mkdirSync(dir, { recursive: true });
  const wanted = items ?? [...files.keys()].map((key) => ({ key, path: key }));
  for (const item of wanted) {
    const content = files.get(item.key);
    if (content === undefined) continue;
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}

/**
 * Mounts every volume of `pod` (or throws VolumeNotReady, the kubelet's
 * "unable to attach or mount volumes" that keeps the pod Pending). Volume
 * types the testbed does not model (projected, downwardAPI, …) get an empty
 * directory.
 */
export async function mountPodVolumes(pod: V1Pod, podDir: string, nodeLabels: Record<string, string>): Promise<MountedVolume[]> {
  const mounted: MountedVolume[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    let hostDir: string;
    let readOnly = false;
    if (volume.persistentVolumeClaim) {
      hostDir = await claimVolume(volume, pod, podDir, nodeLabels);
      readOnly = volume.persistentVolumeClaim.readOnly === true;
    } else if (volume.hostPath) {
      hostDir = hostPathDir(volume.hostPath.path, volume.hostPath.type, `volume ${volume.name}`);
    } else if (volume.secret || volume.configMap) {
      hostDir = await keyedVolume(volume, pod, podDir);
      readOnly = true;
    } else {
      hostDir = join(podDir, 'volumes', volume.emptyDir ? PLUGIN_DIR.emptyDir : PLUGIN_DIR.projected, volume.name);
      mkdirSync(hostDir, { recursive: true });
      // An emptyDir is world-writable (pkg/volume/emptydir/empty_dir.go perm 0777); mkdir's mode is cut by the umask.
      chmodSync(hostDir, 0o777);
    }
    mounted.push({ name: volume.name, hostDir, readOnly });
  }
  return mounted;
}

/** The kubelet removes an orphaned pod's directory (kubelet_volumes.go cleanupOrphanedPodDirs); a symlink goes, never what it points to. */
export function removePodDir(podDir: string): void {
  rmSync(podDir, { recursive: true, force: true });
}
