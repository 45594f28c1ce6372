import { componentKey, type ComponentKey } from '../components/component-key.js';
import { RequestRecordIndex, stageBehind } from '../request-record-index.js';
import { RESTORE_STAGES, stageOf, type RestoreRequestRecord } from './restore-request.js';

/**
 * Every restore request record as the watch last saw it (src/kube/restore-requests.ts
 * feeds it), with a per-component lookup (the API's restore records).
 */
export class RestoreRequestIndex extends RequestRecordIndex<RestoreRequestRecord> {
  constructor() {
    // A watch event older than what the controller wrote itself must not move a restore back a stage.
    super(stageBehind(RESTORE_STAGES, stageOf));
  }

  /** The component's requests (by the namespace and service_id they name: records are ours, written by the API after it authorized the caller). */
  of(component: ComponentKey): RestoreRequestRecord[] {
    return this.records().filter((r) => r.request !== undefined && componentKey(r.request.component.namespace, r.request.component.serviceId) === component);
  }

  /** The request of the restore named `restoreName`, if one is held. */
  forRestore(restoreName: string): RestoreRequestRecord | undefined {
    return this.records().find((r) => r.request?.restoreName === restoreName);
  }
}
