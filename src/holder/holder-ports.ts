import type { HolderPodView } from './holder-view.js';

/** A component's PVC as read live: the holder is owned by it and mounts it. */
export interface LiveClaim {
  name: string;
  uid: string;
  labels: Readonly<Record<string, string>>;
  deletionTimestamp?: string;
}

/** Whether a holder pod is up, read live: all the backup API needs of holders (its restore waits for one to go). */
export interface HolderPodReader {
  get(namespace: string, name: string): Promise<HolderPodView | undefined>;
}

/**
 * The cluster calls holder pods need, as a port (src/kube/holder-pods.ts
 * implements it with KubeHttp; every call has a timeout).
 */
export interface HolderPods extends HolderPodReader {
  /** The component's PVCs, live: Wutong's labels (creator=Wutong, service_id) in its namespace. */
  claimsOf(namespace: string, serviceId: string): Promise<LiveClaim[]>;
  /** 'exists' when the name is taken (another request or replica made it first). */
  create(pod: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** Deletes the pod if it is still the one with this uid; false when it was already gone. */
  remove(namespace: string, name: string, uid: string): Promise<boolean>;
}
