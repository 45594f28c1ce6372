// What the holder code keeps of a holder pod: read from raw API JSON (a
// list item, a watch event, a GET), every field checked, nothing else kept.
import { PROTECTION_ANNOTATION, PROTECTION_LABEL } from '../components/protection-keys.js';
import { isObject } from '../is-object.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import { HOLDER_COMMAND, holderPodName } from './holder-pod.js';

export interface HolderPodView {
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  /** PROTECTION_LABEL.holder: the component it holds the volumes of. */
  serviceId: string;
  /** PROTECTION_ANNOTATION.holderBackup: the Backup it was started for ('' when absent). */
  backupName: string;
  /** Velero's velero.io/restore-name label: set on a holder Velero restored from a backup. */
  restoreName?: string;
  /** PROTECTION_ANNOTATION.clearsRestoreMarkers: a marker holder, started after that Restore (restore-marker-pod.ts). */
  clearsRestoreMarkers?: string;
  phase: string;
  /** Why it is not running yet, when the pod says (ImagePullBackOff: …, Unschedulable: …). */
  waiting?: string;
  /** The PVCs it mounts. */
  claims: string[];
}

type Json = Record<string, unknown>;
const objectAt = (value: unknown): Json => (isObject(value) ? value : {});
const stringAt = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const arrayAt = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function waitingReason(status: Json): string | undefined {
  for (const c of [...arrayAt(status.initContainerStatuses), ...arrayAt(status.containerStatuses)]) {
    const state = objectAt(objectAt(c).state);
    const stuck = objectAt(state.waiting ?? state.terminated);
    const reason = stringAt(stuck.reason);
    if (reason !== undefined && reason !== 'PodInitializing' && reason !== 'ContainerCreating') {
      const message = stringAt(stuck.message);
      return message ? `${reason}: ${message}` : reason;
    }
  }
  const unscheduled = arrayAt(status.conditions).map(objectAt).find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled) return [stringAt(unscheduled.reason), stringAt(unscheduled.message)].filter((s) => s).join(': ') || 'not scheduled';
  return undefined;
}

/**
 * Whether a pod is shaped as holder-pod.ts builds one: named for its
 * component, one container `hold` running HOLDER_COMMAND, only PVC volumes,
 * no ServiceAccount token. The holder label alone is anyone's to put on a
 * pod in her namespace; without this check the sweep would delete a
 * tenant's own pod for her. (Velero's restore-wait init container, added to
 * a restored holder, is not a container of the pod's own and is allowed.)
 */
function hasHolderShape(object: Json, serviceId: string, name: string): boolean {
  const spec = objectAt(object.spec);
  const containers = arrayAt(spec.containers).map(objectAt);
  const [only] = containers;
  const command = arrayAt(only?.command);
  return (
    name === holderPodName(serviceId) &&
    containers.length === 1 &&
    only?.name === 'hold' &&
    command.length === HOLDER_COMMAND.length &&
    command.every((part, i) => part === HOLDER_COMMAND[i]) &&
    spec.automountServiceAccountToken === false &&
    arrayAt(spec.volumes).every((v) => isObject(objectAt(v).persistentVolumeClaim))
  );
}

/** The view of a holder pod, or undefined when `raw` is not one (no holder label, or not shaped as this project makes them). */
export function viewHolderPod(raw: unknown): HolderPodView | undefined {
  const object = objectAt(raw);
  const meta = objectAt(object.metadata);
  const labels = objectAt(meta.labels);
  const serviceId = stringAt(labels[PROTECTION_LABEL.holder]);
  const name = stringAt(meta.name);
  if (serviceId === undefined || name === undefined || !hasHolderShape(object, serviceId, name)) return undefined;
  const status = objectAt(object.status);
  const deletionTimestamp = stringAt(meta.deletionTimestamp);
  const restoreName = stringAt(labels[VELERO_LABEL.restoreName]);
  const waiting = waitingReason(status);
  const clearsRestoreMarkers = stringAt(objectAt(meta.annotations)[PROTECTION_ANNOTATION.clearsRestoreMarkers]);
  return {
    namespace: stringAt(meta.namespace) ?? '',
    name,
    uid: stringAt(meta.uid) ?? '',
    creationTimestamp: stringAt(meta.creationTimestamp) ?? '',
    ...(deletionTimestamp ? { deletionTimestamp } : {}),
    serviceId,
    backupName: stringAt(objectAt(meta.annotations)[PROTECTION_ANNOTATION.holderBackup]) ?? '',
    ...(restoreName ? { restoreName } : {}),
    ...(clearsRestoreMarkers ? { clearsRestoreMarkers } : {}),
    phase: stringAt(status.phase) ?? '',
    ...(waiting ? { waiting } : {}),
    claims: arrayAt(objectAt(object.spec).volumes)
      .map((v) => stringAt(objectAt(objectAt(v).persistentVolumeClaim).claimName))
      .filter((c): c is string => c !== undefined),
  };
}

/** Running and not on its way out: what FSB can read volumes through. */
export function isHolderRunning(holder: HolderPodView): boolean {
  return holder.phase === 'Running' && holder.deletionTimestamp === undefined;
}
