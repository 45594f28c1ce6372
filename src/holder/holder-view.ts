// What the holder code keeps of a holder pod: read from raw API JSON (a
// list item, a watch event, a GET), every field checked, nothing else kept.
import { PROTECTION_ANNOTATION, PROTECTION_LABEL } from '../components/protection-keys.js';
import { isObject } from '../is-object.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';

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

/** The view of a holder pod, or undefined when `raw` is not one (no holder label). */
export function viewHolderPod(raw: unknown): HolderPodView | undefined {
  const object = objectAt(raw);
  const meta = objectAt(object.metadata);
  const labels = objectAt(meta.labels);
  const serviceId = stringAt(labels[PROTECTION_LABEL.holder]);
  const name = stringAt(meta.name);
  if (serviceId === undefined || name === undefined) return undefined;
  const status = objectAt(object.status);
  const deletionTimestamp = stringAt(meta.deletionTimestamp);
  const restoreName = stringAt(labels[VELERO_LABEL.restoreName]);
  const waiting = waitingReason(status);
  return {
    namespace: stringAt(meta.namespace) ?? '',
    name,
    uid: stringAt(meta.uid) ?? '',
    creationTimestamp: stringAt(meta.creationTimestamp) ?? '',
    ...(deletionTimestamp ? { deletionTimestamp } : {}),
    serviceId,
    backupName: stringAt(objectAt(meta.annotations)[PROTECTION_ANNOTATION.holderBackup]) ?? '',
    ...(restoreName ? { restoreName } : {}),
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
