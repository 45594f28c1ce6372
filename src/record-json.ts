// Reading the JSON our request records keep in ConfigMap data (the at-rest
// hand-over, src/holder/at-rest-request.ts; restores, src/restore/restore-request.ts):
// every value is checked before it is trusted, nothing throws.
import { isObject } from './is-object.js';
import { VELERO_API_VERSION, type VeleroObject } from './velero/velero-resources.js';

/** A ConfigMap data value as JSON; undefined when it is absent or not JSON. */
export function parseRecordJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export const isRecordTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));
export const isStringMap = (value: unknown): value is Record<string, string> => isObject(value) && Object.values(value).every((v) => typeof v === 'string');

/** What is wrong with a Backup a record carries, for the caller to say in its own words. */
export type RecordBackupProblem = 'not-a-backup' | 'unnamed' | 'labels';

/**
 * A Velero Backup as a record carries it (exactly what the API built), read
 * back with only the fields a Backup create sends: apiVersion, kind, name,
 * namespace, string labels and annotations, spec.
 */
export function readRecordBackup(backup: unknown): VeleroObject | RecordBackupProblem {
  if (!isObject(backup) || backup.apiVersion !== VELERO_API_VERSION || backup.kind !== 'Backup' || !isObject(backup.spec) || !isObject(backup.metadata)) return 'not-a-backup';
  const meta = backup.metadata;
  if (typeof meta.name !== 'string' || typeof meta.namespace !== 'string') return 'unnamed';
  if ((meta.labels !== undefined && !isStringMap(meta.labels)) || (meta.annotations !== undefined && !isStringMap(meta.annotations))) return 'labels';
  return {
    apiVersion: VELERO_API_VERSION,
    kind: 'Backup',
    metadata: { name: meta.name, namespace: meta.namespace, ...(meta.labels ? { labels: meta.labels } : {}), ...(meta.annotations ? { annotations: meta.annotations } : {}) },
    spec: backup.spec,
  };
}
