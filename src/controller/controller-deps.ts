import type { Logger } from 'pino';
import type { VeleroCache, VeleroStore } from '../velero/velero-ports.js';
import type { ComponentRegistry } from '../components/component-registry.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { PolicyStore } from '../policy/policy-store.js';

/** What every controller loop reads and writes through: the same caches the API answers from, and ports to the cluster. */
export interface ControllerDeps {
  registry: ComponentRegistry;
  /** Whether the registry holds every component: until the component watches have listed once, a missing component proves nothing. */
  componentsSynced: () => boolean;
  cache: VeleroCache;
  store: VeleroStore;
  policy: PolicyStore;
  events: EventRecorder;
  settings: { veleroNamespace: string; storageLocation: string };
  now: () => Date;
  log: Logger;
}

/** Both halves of the picture are complete: only then may a reconcile treat absence as "gone" (a half-listed registry looks like every component deleted). */
export function synced(deps: Pick<ControllerDeps, 'componentsSynced' | 'cache'>): boolean {
  return deps.componentsSynced() && deps.cache.synced();
}
