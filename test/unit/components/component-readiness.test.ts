import { componentReady } from '../../../src/components/component-readiness.js';
import type { ComponentState, PodRecord, WorkloadSummary } from '../../../src/components/component-registry.js';
import { podRecord, workloadSummary } from './summaries.js';

const labels = { creator: 'Wutong', service_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', service_alias: 'gr0a1b2c' };
const sts = (replicas: number, over: Partial<WorkloadSummary> = {}): WorkloadSummary =>
  workloadSummary({ namespace: 'acme-prod', name: 'gr0a1b2c', uid: 'u-sts', labels, replicas, ...over });
/** A pod as the component watch summarises it: ready is its Ready condition, which the kubelet writes. */
const pod = (ordinal: number, ready: boolean, over: Partial<PodRecord> = {}): PodRecord =>
  podRecord({ namespace: 'acme-prod', name: `gr0a1b2c-${ordinal}`, uid: `u-${ordinal}`, labels, ready, ...over });
const subject = (workload: WorkloadSummary | undefined, pods: PodRecord[], state: ComponentState = 'running') => ({ state, pods, ...(workload ? { workload } : {}) });

describe('componentReady: every replica the workload asks for runs and is Ready', () => {
  test.each([
    ['one replica, its pod Ready', subject(sts(1), [pod(0, true)]), true],
    ['one replica, its pod Running but not Ready (the database still starting)', subject(sts(1), [pod(0, false)]), false],
    ['two replicas, only the first pod so far (StatefulSet OrderedReady)', subject(sts(2), [pod(0, true)]), false],
    ['two replicas, the second not Ready', subject(sts(2), [pod(0, true), pod(1, false)]), false],
    ['two replicas, both Ready', subject(sts(2), [pod(0, true), pod(1, true)]), true],
    ['a pod still Pending beside a Ready one', subject(sts(1), [pod(0, true), pod(1, false, { phase: 'Pending' })]), false],
    ['an old pod going away (deletionTimestamp) does not count either way', subject(sts(1), [pod(0, true), pod(1, false, { deletionTimestamp: '2026-01-01T00:00:00Z' })]), true],
    ['no workload (pods left of a stop)', subject(undefined, [pod(0, true)]), false],
    ['workload scaled to 0', subject(sts(0), [pod(0, true)]), false],
    ['stopped', subject(undefined, [], 'stopped'), false],
  ])('%s', (_name, component, expected) => {
    expect(componentReady(component)).toBe(expected);
  });
});
