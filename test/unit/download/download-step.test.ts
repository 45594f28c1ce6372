import { downloadStep, orphanScratchNamespaces, type DownloadStep, type DownloadWorld, type ScratchPod } from '../../../src/download/download-step.js';
import { archiveTokenDigest } from '../../../src/download/archive-token.js';
import type { DownloadProgress, DownloadRequestRecord } from '../../../src/download/download-request.js';
import { DOWNLOAD_HOLD_CONTAINER } from '../../../src/velero/download-restore.js';
import type { BackupView, PodVolumeBackupView, RestoreView, ViewMeta } from '../../../src/velero/velero-views.js';

const IMAGE = 'registry.example/wutong-backup:0.1.0';
const NOW = new Date('2026-12-07T17:40:00Z');
const meta = (name: string, annotations: Record<string, string> = {}): ViewMeta => ({ name, namespace: 'velero', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-12-07T17:00:00Z', labels: {}, annotations });

function record(progress?: Partial<DownloadProgress>): DownloadRequestRecord {
  return {
    name: 'download-abc123',
    uid: 'u1',
    resourceVersion: '7',
    request: {
      component: { namespace: 'acme-prod', serviceId: 'abc123', serviceAlias: 'gr3f2a-mysql' },
      backupName: 'b1',
      operator: 'alice',
      scratchNamespace: 'wutong-backup-dl-0f3a9c',
      tokenDigest: archiveTokenDigest('t'),
      requestedAt: '2026-12-07T17:30:00Z',
      expiresAt: '2026-12-07T18:30:00Z',
    },
    ...(progress ? { progress: { stage: 'New', message: '', since: '2026-12-07T17:35:00Z', ...progress } } : {}),
  };
}

const pvb = (claim: string, phase: string, message?: string): PodVolumeBackupView => ({ metadata: meta(`pvb-${claim}`), spec: { volume: `vol-${claim}`, pod: { name: 'mysql-0', namespace: 'acme-prod' }, claimName: claim }, status: { phase, ...(message ? { message } : {}) } });
const pvr = (claim: string, phase: string): PodVolumeBackupView => ({ metadata: meta(`pvr-${claim}`), spec: { volume: `vol-${claim}`, pod: { name: 'mysql-0', namespace: 'wutong-backup-dl-0f3a9c' }, claimName: claim }, status: { phase } });
const restore = (phase: string): RestoreView => ({ metadata: meta('wutong-backup-dl-0f3a9c'), spec: { backupName: 'b1' }, status: { phase } });
const backup = (annotations: Record<string, string> = {}): BackupView => ({ metadata: meta('b1', annotations), spec: {}, status: { phase: 'Completed' } });
const held: ScratchPod = { name: 'mysql-0', uid: 'p1', phase: 'Pending', initContainers: [{ name: 'restore-wait', image: 'velero/velero' }, { name: DOWNLOAD_HOLD_CONTAINER, image: IMAGE }] };

/** The reason of a 'fail' step; a failed expectation otherwise. */
function failure(step: DownloadStep): string {
  if (step.kind !== 'fail') throw new Error(`expected a fail step, got ${step.kind}`);
  return step.message;
}

function world(change: Partial<DownloadWorld> = {}): DownloadWorld {
  return {
    now: NOW,
    keepMs: 600_000,
    image: IMAGE,
    namespace: { terminating: false },
    backup: backup(),
    backupVolumes: [pvb('data', 'Completed')],
    restore: restore('Completed'),
    restoreVolumes: [pvr('data', 'Completed')],
    restoredPods: [],
    secretFingerprint: undefined,
    holder: undefined,
    ...change,
  };
}

describe('the controller’s next step for a download', () => {
  it('creates the scratch namespace, then the Velero Restore into it, then waits for it', () => {
    expect(downloadStep(record(), world({ namespace: undefined, restore: undefined }))).toEqual({ kind: 'create-namespace' });
    expect(downloadStep(record(), world({ restore: undefined }))).toEqual({ kind: 'create-restore' });
    expect(downloadStep(record(), world({ restore: restore('InProgress'), restoreVolumes: [] }))).toMatchObject({ kind: 'advance', stage: 'Restoring' });
    expect(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('InProgress'), restoreVolumes: [pvr('data', 'InProgress')] }))).toEqual({ kind: 'wait', ms: 2_000 });
  });

  it('fails at once, deleting the namespace, when a restored pod does not start with our hold (a pod annotation replaced the hook: item_hook_handler.go L134-138)', () => {
    const annotated: ScratchPod = { ...held, initContainers: [{ name: 'restore-wait' }, { name: 'restore-hook', image: 'tenant/app' }] };
    expect(failure(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('InProgress'), restoredPods: [annotated] })))).toContain('L134-138');
  });

  it('once Velero wrote every copied volume, records the volumes and what a partial backup lacks, and moves to Starting', () => {
    const partial = backup({ 'backup.wutong.io/coverage': JSON.stringify({ expected: ['data', 'cache'], skipped: { cache: 'no running pod mounted it' } }) });
    expect(downloadStep(record({ stage: 'Restoring' }), world({ backup: partial, backupVolumes: [pvb('data', 'Completed'), pvb('logs', 'Failed', 'disk full')] }))).toEqual({
      kind: 'advance',
      stage: 'Starting',
      message: 'Velero wrote 1 volume; starting the download holder',
      volumes: ['data'],
      missing: [
        { claim: 'cache', why: 'no running pod mounted it' },
        { claim: 'logs', why: 'PodVolumeBackup pvb-logs Failed: disk full' },
      ],
    });
  });

  it('goes on once the data is written though the Restore is still InProgress: it waits for post-restore exec hooks of pods whose containers never start here (wait_exec_hook_handler.go L92-98, L262-275)', () => {
    expect(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('InProgress') }))).toMatchObject({ kind: 'advance', stage: 'Starting', volumes: ['data'] });
  });

  it('fails when Velero did not write a volume the backup holds: no archive with a silently empty volume', () => {
    expect(failure(downloadStep(record({ stage: 'Restoring' }), world({ restoreVolumes: [pvr('data', 'Failed')] })))).toBe('Velero could not write data');
    expect(failure(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('PartiallyFailed'), restoreVolumes: [] })))).toContain('not written: data');
    expect(failure(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('InProgress'), restoreVolumes: [pvr('data', 'Failed')] })))).toBe('Velero could not write data');
    expect(failure(downloadStep(record({ stage: 'Restoring' }), world({ restore: restore('Failed') })))).toContain('Velero ended the restore Failed');
  });

  it('deletes the restored pods, creates the Secret and the holder on the restored claims, and is Ready with the holder’s IP and certificate fingerprint', () => {
    const starting = record({ stage: 'Starting', volumes: ['data'], missing: [] });
    expect(downloadStep(starting, world({ restoredPods: [held] }))).toEqual({ kind: 'delete-pods', pods: [{ name: 'mysql-0', uid: 'p1' }] });
    expect(downloadStep(starting, world())).toEqual({ kind: 'create-secret' });
    expect(downloadStep(starting, world({ secretFingerprint: 'AB:CD' }))).toEqual({ kind: 'create-holder', claims: ['data'] });
    expect(downloadStep(starting, world({ secretFingerprint: 'AB:CD', holder: { phase: 'Pending' } }))).toEqual({ kind: 'wait', ms: 2_000 });
    expect(downloadStep(starting, world({ secretFingerprint: 'AB:CD', holder: { phase: 'Running', podIP: '127.1.0.5' } }))).toMatchObject({
      kind: 'advance',
      stage: 'Ready',
      volumes: ['data'],
      holder: { ip: '127.1.0.5', port: 8443, fingerprint: 'AB:CD' },
    });
  });

  it('past the record’s expiry (the API killed mid-stream), deletes the scratch namespace, then the record', () => {
    const later = new Date('2026-12-07T18:30:00Z');
    expect(downloadStep(record({ stage: 'Ready' }), world({ now: later, holder: { phase: 'Running' } }))).toEqual({ kind: 'delete-namespace' });
    expect(downloadStep(record({ stage: 'Ready' }), world({ now: later, namespace: { terminating: true } }))).toEqual({ kind: 'remove' });
  });

  it('a failed download keeps its record a while for the API to read the reason, its namespace deleted first', () => {
    expect(downloadStep(record({ stage: 'Failed' }), world())).toEqual({ kind: 'delete-namespace' });
    expect(downloadStep(record({ stage: 'Failed' }), world({ namespace: undefined }))).toEqual({ kind: 'wait', ms: 600_000 - 5 * 60_000 });
    expect(downloadStep(record({ stage: 'Failed' }), world({ namespace: undefined, now: new Date('2026-12-07T17:46:00Z') }))).toEqual({ kind: 'remove' });
  });

  it('refuses a backup that is gone, unfinished or without volume data', () => {
    expect(downloadStep(record(), world({ backup: undefined }))).toMatchObject({ kind: 'fail', message: 'backup b1 is gone' });
    expect(downloadStep(record(), world({ backupVolumes: [] }))).toMatchObject({ kind: 'fail', message: 'backup b1 holds no volume data' });
  });

  it('the sweep deletes every scratch namespace whose record is gone, and only those', () => {
    const namespaces = [
      { name: 'wutong-backup-dl-1', record: 'download-a', terminating: false },
      { name: 'wutong-backup-dl-2', record: 'download-b', terminating: false },
      { name: 'wutong-backup-dl-3', record: 'download-c', terminating: true },
      // A tenant env someone labelled as a scratch namespace: never deleted.
      { name: 'shop-prod', record: 'download-d', terminating: false },
    ];
    expect(orphanScratchNamespaces(namespaces, new Set(['download-a']))).toEqual(['wutong-backup-dl-2']);
  });
});
