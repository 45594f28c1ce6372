// The marker holder: a short-lived holder pod (holder-pod.ts, the same name,
// shape and `hold` container, so every holder rule applies to it) whose init
// container removes the `.velero` folder Velero leaves in each volume it
// restored. Velero v1.11.1's node agent, as root, writes
// `<volume>/.velero/<restore uid>` (pkg/controller/pod_volume_restore_controller.go
// L301-312: directory 0755, file 0644); restore-wait is meant to remove it
// (cmd/velero-restore-helper/velero-restore-helper.go L39-45, L83-104), but
// it runs as its image's user, nonroot 65532 (Dockerfile L77; the restore
// helper image is built from it, Makefile L126, L182-199), unless the pod
// says otherwise, so its RemoveAll fails with permission denied, is printed
// and ignored (velero#8973), and the folder stays for the application to
// find (velero#2722: Kafka, MySQL read every directory of their data dir).
// The init container runs the project's own CLI (`clear-restore-markers`,
// which removes exactly `<mount>/.velero`) as uid 0 with only
// CAP_DAC_OVERRIDE, so it may unlink in a volume root of any owner and
// mode; the pod keeps no ServiceAccount token and the `hold` container stays
// non-root and read-only. Pure: the restore loop creates what this returns.
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { holderPod, type HolderInput } from './holder-pod.js';

/** The init container's name; also what `kubectl describe` shows while it runs. */
export const MARKER_CONTAINER = 'clear-restore-markers';

/** The project image's CLI (holder-pod.ts HOLDER_COMMAND's program) with the command that removes `<mount>/.velero`. */
const MARKER_COMMAND: readonly string[] = ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'clear-restore-markers'];

export interface MarkerHolderInput extends Omit<HolderInput, 'backupName'> {
  /** The Restore whose done files go (annotation PROTECTION_ANNOTATION.clearsRestoreMarkers). */
  restoreName: string;
}

type Json = Record<string, unknown>;

export function restoreMarkerPod(input: MarkerHolderInput): Record<string, unknown> {
  // No Backup to name: the holder sweep ends a marker holder by its own rule (holder-sweep.ts).
  const pod = holderPod({ ...input, backupName: '' });
  const metadata = pod.metadata as Json & { annotations: Record<string, string> };
  delete metadata.annotations[PROTECTION_ANNOTATION.holderBackup];
  // Nothing for Velero to copy: a backup made while it runs must not read the volumes through it.
  metadata.annotations = { [PROTECTION_ANNOTATION.clearsRestoreMarkers]: input.restoreName };
  const spec = pod.spec as Json & { containers: Array<Json & { volumeMounts: Array<{ name: string; mountPath: string }>; resources: unknown; image: string }> };
  const [hold] = spec.containers;
  if (!hold) throw new Error('holderPod built no container');
  const mounts = hold.volumeMounts.map(({ name, mountPath }) => ({ name, mountPath }));
  spec.initContainers = [
    {
      name: MARKER_CONTAINER,
      image: hold.image,
      imagePullPolicy: 'IfNotPresent',
      command: [...MARKER_COMMAND, ...mounts.map((m) => m.mountPath)],
      resources: hold.resources,
      securityContext: {
        // Root, for the one capability a volume root of another owner needs (unlink there); nothing else.
        runAsUser: 0,
        runAsGroup: 0,
        runAsNonRoot: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
      },
      volumeMounts: mounts,
    },
  ];
  return pod;
}

