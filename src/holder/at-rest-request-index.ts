import { RequestRecordIndex } from '../request-record-index.js';
import type { AtRestRequestRecord } from './at-rest-request.js';

/**
 * Every at-rest request record as the controller's watch last saw it
 * (src/kube/at-rest-requests.ts feeds it); a watch event older than what the
 * loop wrote itself must not bring an undecided version back.
 */
export class AtRestRequestIndex extends RequestRecordIndex<AtRestRequestRecord> {
  constructor() {
    super((held, incoming) => held.decision !== undefined && !incoming.decision);
  }
}
