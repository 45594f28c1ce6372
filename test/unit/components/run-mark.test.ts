import { coveringBackup, isStopped, startedAfterStop, lastRun, nextRunMark, readRunMark, runMarkValue, type RunMark } from '../../../src/components/run-mark.js';
import type { BackupView, PodVolumeBackupView } from '../../../src/velero/velero-views.js';
import { claimSummary } from './summaries.js';

const KEY = 'backup.wutong.io/ran-until';
const NOW = new Date('2026-12-02T08:00:00.000Z');
const labels = { service_id: 'a'.repeat(32) };
const claim = (name: string, ranUntil?: string) =>
  claimSummary({ name, namespace: 'acme-prod', uid: `u-${name}`, labels, annotations: ranUntil === undefined ? {} : { [KEY]: ranUntil } });
const workload = { kind: 'StatefulSet' };

function backup(name: string, phase: string, startTimestamp?: string, deleting = false): BackupView {
  return {
    metadata: {
      name, namespace: 'velero', uid: `u-${name}`, resourceVersion: '1', creationTimestamp: startTimestamp ?? '', labels: {}, annotations: {},
      ...(deleting ? { deletionTimestamp: '2026-12-02T09:00:00Z' } : {}),
    },
    spec: {},
    status: { phase, ...(startTimestamp ? { startTimestamp } : {}) },
  };
}
/** The claims of the component the tests judge, by uid. */
const CLAIMS = ['claim-a', 'claim-b'];
const pvb = (name: string, claimUid: string, phase = 'Completed'): PodVolumeBackupView => ({
  metadata: { name, namespace: 'velero', uid: 'u', resourceVersion: '1', creationTimestamp: '', labels: { 'velero.io/pvc-uid': claimUid }, annotations: {} },
  spec: { volume: 'manual1', pod: { name: 'p', namespace: 'acme-prod' } },
  status: { phase },
});
/** Every Backup copied both claims, except those named "*-empty" (no volume data) and "*-partial" (claim-b skipped, as Velero skips a hostPath PV's). */
const volumesOf = (name: string): PodVolumeBackupView[] =>
  name.endsWith('-empty') ? [] : name.endsWith('-partial') ? [pvb(`${name}-a`, 'claim-a')] : CLAIMS.map((uid) => pvb(`${name}-${uid}`, uid));

describe('run marks', () => {
  test('are read back as written; anything else proves nothing', () => {
    expect(readRunMark({ [KEY]: 'running' })).toEqual({ kind: 'running' });
    expect(readRunMark({ [KEY]: '2026-12-02T07:00:00.000Z' })).toEqual({ kind: 'stopped', at: '2026-12-02T07:00:00.000Z' });
    expect(readRunMark({ [KEY]: 'yesterday' })).toBeUndefined();
    expect(readRunMark({})).toBeUndefined();
    const marks: RunMark[] = [{ kind: 'running' }, { kind: 'stopped', at: NOW.toISOString() }];
    for (const mark of marks) expect(readRunMark({ [KEY]: runMarkValue(mark) })).toEqual(mark);
  });

  test.each<[string, { state: 'running' | 'stopped' | 'deleted'; workload?: unknown }, RunMark | undefined, RunMark | undefined]>([
    ['running, unmarked: running', { state: 'running', workload }, undefined, { kind: 'running' }],
    ['running after a stop: running again', { state: 'running', workload }, { kind: 'stopped', at: '2026-12-01T00:00:00Z' }, { kind: 'running' }],
    ['running, marked running: nothing to write', { state: 'running', workload }, { kind: 'running' }, undefined],
    ['stopped by Wutong after a run: stopped now', { state: 'stopped' }, { kind: 'running' }, { kind: 'stopped', at: NOW.toISOString() }],
    ['stopped, already marked stopped: the first stop time stays', { state: 'stopped' }, { kind: 'stopped', at: '2026-12-01T00:00:00Z' }, undefined],
    ['stopped, never seen running: nothing is invented', { state: 'stopped' }, undefined, undefined],
    ['pods down under a live workload (a restart): not a stop', { state: 'stopped', workload }, { kind: 'running' }, undefined],
    ['deleted: left for the deletion guard', { state: 'deleted' }, { kind: 'running' }, undefined],
  ])('%s', (_what, component, current, next) => {
    expect(nextRunMark(component, current, NOW)).toEqual(next);
  });

  test('a component is stopped only without workload and running pods', () => {
    expect(isStopped({ state: 'stopped' })).toBe(true);
    expect(isStopped({ state: 'stopped', workload })).toBe(false);
    expect(isStopped({ state: 'running', workload })).toBe(false);
    expect(isStopped({ state: 'deleted' })).toBe(false);
  });

  test('the last run across PVCs: any running wins, else the latest stop', () => {
    expect(lastRun([claim('a', '2026-12-01T00:00:00Z'), claim('b', 'running')])).toEqual({ kind: 'running' });
    expect(lastRun([claim('a', '2026-12-01T00:00:00Z'), claim('b', '2026-12-02T00:00:00Z'), claim('c')])).toEqual({ kind: 'stopped', at: '2026-12-02T00:00:00Z' });
    expect(lastRun([claim('a'), claim('b', 'garbage')])).toBeUndefined();
    expect(lastRun([])).toBeUndefined();
  });

  describe('a covering backup', () => {
    const stopped: RunMark = { kind: 'stopped', at: '2026-12-02T07:00:00.000Z' };

    test('is the newest restorable backup started at or after the stop', () => {
      const backups = [
        backup('before', 'Completed', '2026-12-02T06:59:59Z'),
        backup('at', 'Completed', '2026-12-02T07:00:00Z'),
        backup('after', 'Completed', '2026-12-02T07:30:00Z'),
        backup('later-failed', 'PartiallyFailed', '2026-12-02T07:40:00Z'),
        backup('later-running', 'InProgress', '2026-12-02T07:50:00Z'),
      ];
      expect(coveringBackup(stopped, backups, volumesOf, CLAIMS)?.metadata.name).toBe('after');
      expect(coveringBackup(stopped, backups.slice(0, 2), volumesOf, CLAIMS)?.metadata.name).toBe('at');
    });

    test('is none when only older, unfinished, failed, empty or deleting backups exist', () => {
      expect(coveringBackup(stopped, [backup('before', 'Completed', '2026-12-02T06:00:00Z')], volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(stopped, [backup('new', 'New'), backup('running', 'InProgress', '2026-12-02T07:10:00Z')], volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(stopped, [backup('failed', 'Failed', '2026-12-02T07:10:00Z')], volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(stopped, [backup('after-empty', 'Completed', '2026-12-02T07:10:00Z')], volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(stopped, [backup('going', 'Completed', '2026-12-02T07:10:00Z', true)], volumesOf, CLAIMS)).toBeUndefined();
    });

    test('Velero stamps whole seconds: a backup stamped in the stop mark\'s own second may have started before it and covers nothing, unless it is the controller\'s own backup for this stop', () => {
      const mark: RunMark = { kind: 'stopped', at: '2026-12-02T07:00:00.412Z' };
      const sameSecond = backup('same-second', 'Completed', '2026-12-02T07:00:00Z');
      expect(coveringBackup(mark, [sameSecond], volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(mark, [sameSecond], volumesOf, CLAIMS, 'same-second')?.metadata.name).toBe('same-second');
      expect(coveringBackup(mark, [backup('next-second', 'Completed', '2026-12-02T07:00:01Z')], volumesOf, CLAIMS)?.metadata.name).toBe('next-second');
      expect(startedAfterStop(sameSecond, mark.at)).toBe(false);
      expect(startedAfterStop(sameSecond, '2026-12-02T07:00:00.000Z')).toBe(true);
    });

    test('copied every claim asked about: a Completed backup that skipped one (Velero only warns) covers the claims it copied and not the one it skipped', () => {
      const partial = backup('after-partial', 'Completed', '2026-12-02T07:30:00Z');
      expect(coveringBackup(stopped, [partial], volumesOf, ['claim-a'])?.metadata.name).toBe('after-partial');
      expect(coveringBackup(stopped, [partial], volumesOf, ['claim-b'])).toBeUndefined();
      expect(coveringBackup(stopped, [partial], volumesOf, CLAIMS)).toBeUndefined();
      // An older backup that copied both still covers claim-b when the newest skipped it.
      const older = backup('older', 'Completed', '2026-12-02T07:10:00Z');
      expect(coveringBackup(stopped, [older, partial], volumesOf, ['claim-b'])?.metadata.name).toBe('older');
      // A failed volume copy is no copy.
      const failedCopy = (name: string): PodVolumeBackupView[] => [pvb(`${name}-a`, 'claim-a'), pvb(`${name}-b`, 'claim-b', 'Failed')];
      expect(coveringBackup(stopped, [backup('after', 'Completed', '2026-12-02T07:30:00Z')], failedCopy, ['claim-b'])).toBeUndefined();
    });

    test('is none while the component runs or when its last run is unknown, whatever backups exist', () => {
      const backups = [backup('after', 'Completed', '2026-12-02T07:30:00Z')];
      expect(coveringBackup({ kind: 'running' }, backups, volumesOf, CLAIMS)).toBeUndefined();
      expect(coveringBackup(undefined, backups, volumesOf, CLAIMS)).toBeUndefined();
    });
  });
});
