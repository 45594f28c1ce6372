/**
 * The request records of the hand-over (at-rest-request.ts), as ports:
 * src/kube/at-rest-requests.ts implements both over KubeHttp, in the
 * project's namespace, every call with a timeout. The API only creates and
 * reads records; the controller only decides and removes them.
 */
export interface AtRestRequestStore {
  /** 'exists': a record of that name is there already (a retry of the same request). */
  create(record: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** The record as the API server has it, or undefined when there is none. */
  get(name: string): Promise<unknown>;
}

import type { RecordWrite } from '../request-record-ports.js';

export type DecisionWrite = RecordWrite;

export interface AtRestRequestWriter {
  /** A merge patch guarded by the resourceVersion it carries: 'conflict' when the record changed meanwhile. */
  decide(name: string, patch: Record<string, unknown>): Promise<DecisionWrite>;
  /** Deletes the record if it is still the one with this uid; false when it was already gone. */
  remove(name: string, uid: string): Promise<boolean>;
}
