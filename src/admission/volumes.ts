import type { Container, Volume } from './pod.js';

/**
 * Volume sources whose contents live and die with the pod (or come from the
 * API server), so file-system backup has nothing worth keeping in them. Velero
 * skips some of these itself; naming them explicitly makes the opt-out
 * annotation say exactly what is left out.
 */
const NON_PERSISTENT_SOURCES = [
  'configMap',
  'secret',
  'projected',
  'downwardAPI',
  'emptyDir',
  'hostPath',
  'ephemeral',
  'csi',
  'image',
  'gitRepo',
] as const;

export function isPvcVolume(volume: Volume): boolean {
  return volume.persistentVolumeClaim !== undefined && volume.persistentVolumeClaim !== null;
}

export function isEmptyDirVolume(volume: Volume): boolean {
  return volume.emptyDir !== undefined && volume.emptyDir !== null;
}

export function isHostPathVolume(volume: Volume): boolean {
  return volume.hostPath !== undefined && volume.hostPath !== null;
}

export function isNonPersistentVolume(volume: Volume): boolean {
  return NON_PERSISTENT_SOURCES.some((source) => volume[source] !== undefined && volume[source] !== null);
}

/** Velero's file-system backup annotations: the volumes to copy, and those to leave out. */
export const FSB_INCLUDE_ANNOTATION = 'backup.velero.io/backup-volumes';
export const FSB_EXCLUDE_ANNOTATION = 'backup.velero.io/backup-volumes-excludes';
export const FSB_ANNOTATIONS = [FSB_INCLUDE_ANNOTATION, FSB_EXCLUDE_ANNOTATION] as const;

/**
 * Volume sources Velero's opt-out mode never copies (vmware-tanzu/velero
 * v1.11.1 pkg/podvolume/util.go GetVolumesByPod L257-296: hostPath, secret,
 * configMap, projected, downwardAPI), and the name prefix of the service
 * account token volume it skips.
 */
const VELERO_SKIPPED_SOURCES = ['hostPath', 'secret', 'configMap', 'projected', 'downwardAPI'] as const;
const VELERO_SKIPPED_PREFIX = 'default-token';

/**
 * Velero v1.11.1's GetVolumesByPod with defaultVolumesToFsBackup true: every
 * volume but the kinds it skips, the token volume and the excluded names.
 */
export function veleroOptOutVolumes(volumes: readonly Volume[], excluded: readonly string[]): string[] {
  return volumes
    .filter((v) => !VELERO_SKIPPED_SOURCES.some((source) => v[source] !== undefined && v[source] !== null))
    .filter((v) => !excluded.includes(v.name) && !v.name.startsWith(VELERO_SKIPPED_PREFIX))
    .map((v) => v.name);
}

/** What the webhook writes: `include` always (empty when nothing is copied), `exclude` in opt-out mode. */
export interface FsbSelection {
  /** backup.velero.io/backup-volumes: what Backups with defaultVolumesToFsBackup false (this project's) copy. */
  include: string[];
  /** backup.velero.io/backup-volumes-excludes, for Backups others make with defaultVolumesToFsBackup true; undefined in opt-in mode. */
  exclude: string[] | undefined;
}

/**
 * The policy's volumes, as Velero's include list. Opt-in: the PVCs (and
 * emptyDirs if asked). Opt-out: what Velero's own opt-out would copy with
 * the non-persistent volumes (emptyDirs unless asked) excluded; the exclude
 * list is returned as well. `userExcludes` (the pod's own excludes
 * annotation) is honoured in both modes: a volume the user left out is never
 * on the include list.
 */
export function selectFsbVolumes(
  volumes: readonly Volume[],
  mode: 'opt-in' | 'opt-out',
  includeEmptyDir: boolean,
  userExcludes: readonly string[] = [],
): FsbSelection {
  if (mode === 'opt-in') {
    const include = volumes
      .filter((v) => isPvcVolume(v) || (includeEmptyDir && isEmptyDirVolume(v)))
      .map((v) => v.name)
      .filter((name) => !userExcludes.includes(name));
    return { include, exclude: undefined };
  }
  const exclude = volumes
    .filter((v) => isNonPersistentVolume(v) && !(includeEmptyDir && isEmptyDirVolume(v)))
    .map((v) => v.name);
  return { include: veleroOptOutVolumes(volumes, [...exclude, ...userExcludes]), exclude };
}

/** Mount path of the container's first PVC-backed volume: where a dump survives into the backup. */
export function dataDirOf(container: Container, volumes: readonly Volume[]): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (volume && isPvcVolume(volume)) return mount.mountPath;
  }
  return undefined;
}
