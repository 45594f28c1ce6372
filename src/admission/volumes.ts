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

/** Velero's file-system backup annotations: the volumes to copy (opt-in), or those to leave out (opt-out). */
export const FSB_INCLUDE_ANNOTATION = 'backup.velero.io/backup-volumes';
export const FSB_EXCLUDE_ANNOTATION = 'backup.velero.io/backup-volumes-excludes';
export const FSB_ANNOTATIONS = [FSB_INCLUDE_ANNOTATION, FSB_EXCLUDE_ANNOTATION] as const;

export interface FsbSelection {
  annotation: (typeof FSB_ANNOTATIONS)[number];
  volumes: string[];
}

/**
 * Opt-in: list what to back up (PVCs, plus emptyDir if asked). Opt-out: list
 * what to leave out (everything that is not persistent). Returns undefined
 * when the list would be empty, so no empty annotation is written.
 */
export function selectFsbVolumes(
  volumes: readonly Volume[],
  mode: 'opt-in' | 'opt-out',
  includeEmptyDir: boolean,
): FsbSelection | undefined {
  if (mode === 'opt-in') {
    const names = volumes.filter((v) => isPvcVolume(v) || (includeEmptyDir && isEmptyDirVolume(v))).map((v) => v.name);
    return names.length > 0 ? { annotation: FSB_INCLUDE_ANNOTATION, volumes: names } : undefined;
  }
  const names = volumes
    .filter((v) => isNonPersistentVolume(v) && !(includeEmptyDir && isEmptyDirVolume(v)))
    .map((v) => v.name);
  return names.length > 0 ? { annotation: FSB_EXCLUDE_ANNOTATION, volumes: names } : undefined;
}

/** Mount path of the container's first PVC-backed volume: where a dump survives into the backup. */
export function dataDirOf(container: Container, volumes: readonly Volume[]): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (volume && isPvcVolume(volume)) return mount.mountPath;
  }
  return undefined;
}
