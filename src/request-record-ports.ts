/**
 * Request records (src/kube/request-records.ts implements these over
 * KubeHttp, in the project's namespace, every call with a timeout): how the
 * backup API hands work to the controller. The API creates, reads, lists and
 * removes records; the controller writes into them and removes them.
 */
export interface RequestRecordStore {
  /** 'exists': a record of that name is there already (a retry of the same request). */
  create(record: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** The record as the API server has it, or undefined when there is none. */
  get(name: string): Promise<unknown>;
  /** The records with these labels, read live (a decision that must not trust the watch). */
  list(labelSelector: string): Promise<unknown[]>;
}

export type RecordWrite = { kind: 'written'; record: unknown } | { kind: 'conflict' } | { kind: 'gone' };

export interface RequestRecordWriter {
  /** A merge patch guarded by the resourceVersion it carries: 'conflict' when the record changed meanwhile. */
  write(name: string, patch: Record<string, unknown>): Promise<RecordWrite>;
  /** Deletes the record if it is still the one with this uid; false when it was already gone. */
  remove(name: string, uid: string): Promise<boolean>;
}
