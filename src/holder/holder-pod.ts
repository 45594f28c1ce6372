// The holder pod: what lets Velero's file-system backup read a stopped
// component's volumes. FSB reads a volume through a running pod that mounts
// it (velero pkg/podvolume/backupper.go); Wutong's stop deletes every pod,
// so the controller (or the API) starts this one, which mounts the
// component's PVCs, carries its service_id label (the Backup's labelSelector
// selects it, its PVCs and nothing else) and runs `wutong-backup hold`,
// which does nothing until it is deleted. Pure: the kube adapter creates what
// this returns.
import { createHash } from 'node:crypto';
import { PROTECTION_ANNOTATION, PROTECTION_LABEL } from '../components/protection-keys.js';
import { WUTONG_COMPONENT_LABELS, WUTONG_LABEL } from '../components/wutong-labels.js';
import { isDnsLabel } from '../velero/object-names.js';

/** distroless's `nonroot` user, the Dockerfile's USER: the image's files are readable by it, and it owns nothing on the volumes. */
export const HOLDER_USER_ID = 65532;
/** The project image's CLI (Dockerfile: WORKDIR /app, distroless node at /nodejs/bin/node). */
export const HOLDER_COMMAND: readonly string[] = ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'hold'];
/** Under /data/<claim>: where each PVC is mounted, read-only. */
export const HOLDER_MOUNT_ROOT = '/data';
/** `hold` exits on SIGTERM at once; a few seconds cover a slow node. */
export const HOLDER_GRACE_SECONDS = 5;
/**
 * Velero's annotation naming the pod volumes FSB copies: every PVC of the
 * component, what the policy selects in either mode. The project's Backups set
 * defaultVolumesToFsBackup false, so this list is exactly what they copy.
 */
export const FSB_VOLUMES_ANNOTATION = 'backup.velero.io/backup-volumes';
const HOLDER_PREFIX = 'wutong-backup-holder-';

/** `wutong-backup-holder-<service_id>`: one name per component, so a second holder is an AlreadyExists, never a second pod. */
export function holderPodName(serviceId: string): string {
  return `${HOLDER_PREFIX}${serviceId}`;
}

/** A PVC of the component as the builder needs it: the owner reference needs its uid. */
export interface HolderClaim {
  name: string;
  uid: string;
}

export interface HolderInput {
  serviceId: string;
  namespace: string;
  /** Labels of one of the component's PVCs: Wutong puts the component's labels on every object it makes. */
  componentLabels: Readonly<Record<string, string>>;
  /** The component's live PVCs (none being deleted: a pod cannot mount those). */
  claims: readonly HolderClaim[];
  /** The Backup the holder is started for (annotation PROTECTION_ANNOTATION.holderBackup). */
  backupName: string;
  image: string;
}

/**
 * The pod's volume name for a claim: the claim's own name when it is a
 * DNS-1123 label (Wutong's `manual<id>-<alias>-0` always is), else a stable
 * digest of it, since volume names must be labels and claim names need not be.
 */
export function holderVolumeName(claimName: string): string {
  return isDnsLabel(claimName) ? claimName : `claim-${createHash('sha256').update(claimName).digest('hex').slice(0, 12)}`;
}

export function holderPod(input: HolderInput): Record<string, unknown> {
  if (input.claims.length === 0) throw new RangeError(`component ${input.serviceId} has no live PVC for a holder pod to mount`);
  const labels: Record<string, string> = {};
  // Every Wutong label but `creator`: the webhook's podSelector, the component
  // watch and the API's component lookup all select creator=Wutong, and the
  // holder must not be mutated as a Wutong pod (its hooks would run a
  // database dump in a container that has no database) nor count as the
  // component running.
  for (const key of WUTONG_COMPONENT_LABELS) {
    const value = input.componentLabels[key];
    if (value !== undefined) labels[key] = value;
  }
  labels[WUTONG_LABEL.serviceId] = input.serviceId;
  labels[PROTECTION_LABEL.holder] = input.serviceId;
  labels['app.kubernetes.io/name'] = 'wutong-backup';
  labels['app.kubernetes.io/component'] = 'holder';
  const volumes = input.claims.map((claim) => ({ claim, volume: holderVolumeName(claim.name) }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: holderPodName(input.serviceId),
      namespace: input.namespace,
      labels,
      annotations: {
        [FSB_VOLUMES_ANNOTATION]: volumes.map((v) => v.volume).join(','),
        [PROTECTION_ANNOTATION.holderBackup]: input.backupName,
      },
      // Owned by every PVC it mounts: when Wutong deletes the component's
      // PVCs, the garbage collector deletes the holder too. Not
      // blockOwnerDeletion: that needs update on persistentvolumeclaims/finalizers,
      // and nothing should wait for a holder.
      ownerReferences: input.claims.map((c) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: c.name, uid: c.uid })),
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: HOLDER_GRACE_SECONDS,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // No fsGroup: the kubelet would chown every file on the volumes to it, rewriting the database's ownership.
      securityContext: {
        runAsNonRoot: true,
        runAsUser: HOLDER_USER_ID,
        runAsGroup: HOLDER_USER_ID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'hold',
          image: input.image,
          imagePullPolicy: 'IfNotPresent',
          command: [...HOLDER_COMMAND],
          // Measured: `hold` is 43 MiB resident (it loads only its own command); it uses no CPU after start.
          resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          },
          // Read-only in the container: the holder never writes the data. The
          // volume itself is not claimed readOnly, because a restore writes the
          // data back through this same pod (Velero's node agent writes the
          // pod's volume directory on the node, which a read-only
          // persistentVolumeClaim source would mount read-only there too).
          volumeMounts: volumes.map((v) => ({ name: v.volume, mountPath: `${HOLDER_MOUNT_ROOT}/${v.claim.name}`, readOnly: true })),
        },
      ],
      volumes: volumes.map((v) => ({ name: v.volume, persistentVolumeClaim: { claimName: v.claim.name } })),
    },
  };
}
