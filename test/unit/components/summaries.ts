// Registry summaries for unit tests: each field a test does not care about
// has the value the component watch would give a fresh object.
import type { ClaimSummary, PodRecord, WorkloadSummary } from '../../../src/components/component-registry.js';

type Given<T> = Partial<T> & Pick<T & { name: string; namespace: string; uid: string; labels: Readonly<Record<string, string>> }, 'name' | 'namespace' | 'uid' | 'labels'>;

const fresh = { annotations: {}, resourceVersion: '1' };

export function workloadSummary(given: Given<WorkloadSummary>): WorkloadSummary {
  return { kind: 'StatefulSet', replicas: 1, template: { labels: given.labels, containers: [] }, ...fresh, ...given };
}

export function claimSummary(given: Given<ClaimSummary>): ClaimSummary {
  return {
    kind: 'PersistentVolumeClaim',
    phase: 'Bound',
    finalizers: [],
    accessModes: ['ReadWriteOnce'],
    creationTimestamp: '2026-01-01T00:00:00Z',
    ...fresh,
    ...given,
  };
}

export function podRecord(given: Given<PodRecord>): PodRecord {
  return { kind: 'Pod', phase: 'Running', ready: true, ...fresh, ...given };
}
