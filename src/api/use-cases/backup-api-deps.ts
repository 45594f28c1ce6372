import type { Logger } from 'pino';
import type { AtRestRequestStore } from '../../holder/at-rest-request-ports.js';
import type { RequestRecordStore, RequestRecordWriter } from '../../request-record-ports.js';
import type { RestoreRequestIndex } from '../../restore/restore-request-index.js';
import type { VeleroCache, VeleroStore } from '../../velero/velero-ports.js';
import type { ComponentLock } from '../../components/component-lock.js';
import type { ComponentReader } from './ports.js';

export interface BackupApiSettings {
  veleroNamespace: string;
  storageLocation: string;
  /** How long GET …/download waits for Velero to write the pre-signed URL. */
  downloadTimeoutMs: number;
  downloadPollMs: number;
  /** HOLDER_START_TIMEOUT: part of how long a backup of a stopped component waits for the controller's outcome. */
  holderStartTimeoutMs: number;
  /** How often that wait reads the request record. */
  atRestPollMs: number;
}

/** Everything the use cases run on: ports to the cluster, settings, and the sources of time and names (injectable for tests). */
export interface BackupApiDeps {
  components: ComponentReader;
  cache: VeleroCache;
  store: VeleroStore;
  lock: ComponentLock;
  /** Backups of stopped components: requests handed to the controller, which makes the holder pod (the API makes no pod). */
  atRestRequests: AtRestRequestStore;
  /** Restores that replace: the API writes the request records the controller carries out (src/restore/), and removes finished ones on DELETE. */
  restoreRequests: RequestRecordStore & Pick<RequestRecordWriter, 'remove'>;
  /** Every restore request record, from the watch: what restore records show while a restore is under way. */
  restoreIndex: Pick<RestoreRequestIndex, 'of'>;
  settings: BackupApiSettings;
  now: () => Date;
  /** Four hex characters for object names. */
  random: () => string;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
}
