import type { Logger } from 'pino';
import type { AtRestDeps } from '../../holder/at-rest-backup.js';
import type { VeleroCache, VeleroStore } from '../../velero/velero-ports.js';
import type { ComponentLock } from '../../components/component-lock.js';
import type { ComponentReader } from './ports.js';

export interface BackupApiSettings {
  veleroNamespace: string;
  storageLocation: string;
  /** How long GET …/download waits for Velero to write the pre-signed URL. */
  downloadTimeoutMs: number;
  downloadPollMs: number;
}

/** Everything the use cases run on: ports to the cluster, settings, and the sources of time and names (injectable for tests). */
export interface BackupApiDeps {
  components: ComponentReader;
  cache: VeleroCache;
  store: VeleroStore;
  lock: ComponentLock;
  /** Backups of stopped components through a holder pod (the same store, cache and lock). */
  atRest: AtRestDeps;
  settings: BackupApiSettings;
  now: () => Date;
  /** Four hex characters for object names. */
  random: () => string;
  log: Logger;
}
