import type { ComponentProtection } from '../../../src/controller/component-protection.js';
import { desiredSchedule, type ScheduleAction, type ScheduleSubject } from '../../../src/controller/desired-schedule.js';
import { parseBackupTtl, type BackupTtl } from '../../../src/velero/backup-ttl.js';
import { buildSchedule } from '../../../src/velero/schedule-object.js';
import { scheduleName } from '../../../src/velero/object-names.js';
import { viewSchedule, type ScheduleView } from '../../../src/velero/velero-views.js';

const SID = 'a'.repeat(32);
/** Ours for the component (shop, SID): `<sid>-<namespace tag>-schedule`. */
const OURS = scheduleName({ namespace: 'shop', serviceId: SID });
const SETTINGS = { veleroNamespace: 'velero', storageLocation: 'default' };
const ttl = (text: string): BackupTtl => parseBackupTtl(text) ?? { label: 'bad', spec: 'bad' };
/** What the schedule ignores: the rest of a rule's protection. */
const LIFE = { backupBeforeUpgrade: false, upgradeHoldLimitMs: 900_000, backupOnStop: false, deletionHoldLimitMs: 300_000 };
const PROTECTION: ComponentProtection = { rule: 'orders-db', schedule: '0 3 * * *', ttl: ttl('30d'), keep: 7, ...LIFE };
const running: ScheduleSubject = { serviceId: SID, namespace: 'shop', state: 'running', ready: true };
/** A pod runs but a replica is not Ready yet (a database still starting). */
const starting: ScheduleSubject = { ...running, ready: false };
const stopped: ScheduleSubject = { ...running, state: 'stopped', ready: false };
const deleted: ScheduleSubject = { ...running, state: 'deleted', ready: false };
/** When the decisions are made: before the first run of any Schedule below (made 2026-01-01T00:00:00Z). */
const NOW = new Date('2026-01-01T00:30:00Z');

type Raw = Record<string, unknown> & { metadata: Record<string, unknown> };
let version = 0;

/** As the API server stores it: with uid, resourceVersion and creationTimestamp. */
function stored(object: object, created = '2026-01-01T00:00:00Z'): Raw {
  const raw = structuredClone(object) as Raw;
  raw.metadata = { ...raw.metadata, uid: `uid-${String(raw.metadata.name)}`, resourceVersion: String(++version), creationTimestamp: created };
  return raw;
}

/** A Schedule someone set through our API. */
function apiSchedule(cron = '0 1 * * *', created?: string): Raw {
  return stored(
    buildSchedule({
      name: OURS, veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: 'shop',
      cron, ttl: ttl('7d'), desc: 'nightly', operator: 'alice', labels: { 'backup.wutong.io/schedule-source': 'api' },
    }),
    created,
  );
}

/** An API one, paused while the component was stopped. */
function pausedApiSchedule(): Raw {
  const raw = apiSchedule();
  (raw.spec as Record<string, unknown>).paused = true;
  return raw;
}

/** One the region API made through the console: named <service_id>, no source label. */
function regionSchedule(created?: string): Raw {
  return stored(
    buildSchedule({ name: SID, veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: 'shop', cron: '0 2 * * *', ttl: ttl('720h'), desc: '', operator: 'bob' }),
    created,
  );
}

/** The policy Schedule the decision itself creates for `protection`. */
function policySchedule(subject: ScheduleSubject = running, protection = PROTECTION, created?: string): Raw {
  const [create] = desiredSchedule(subject, protection, [], SETTINGS, NOW);
  if (create?.kind !== 'create') throw new Error('expected a create');
  return stored(create.object, created);
}

function views(raws: Raw[]): ScheduleView[] {
  return raws.map((raw) => viewSchedule(raw)).filter((v): v is ScheduleView => v !== undefined);
}

/** RFC 7386 JSON merge patch, as the API server applies one. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** What the cluster holds after the actions. */
function apply(raws: Raw[], actions: ScheduleAction[]): Raw[] {
  let out = [...raws];
  for (const action of actions) {
    if (action.kind === 'create') out.push(stored(action.object, '2026-06-01T00:00:00Z'));
    if (action.kind === 'delete') out = out.filter((r) => r.metadata.name !== action.name);
    if (action.kind === 'patch') {
      out = out.map((r) => {
        if (r.metadata.name !== action.name) return r;
        const patched = mergePatch(r, action.patch) as Raw;
        // A policy update applies only to the version it was decided on (else the API server answers 409).
        if (action.reason === 'ScheduleUpdated') expect(action.patch).toMatchObject({ metadata: { resourceVersion: r.metadata.resourceVersion } });
        patched.metadata.resourceVersion = String(++version);
        return patched;
      });
    }
  }
  return out;
}

const summary = (actions: ScheduleAction[]) => actions.map((a) => `${a.kind} ${a.kind === 'create' ? String(a.object.metadata.name) : a.name} ${a.reason}`);

describe('desiredSchedule', () => {
  const cases: Array<[string, ScheduleSubject | undefined, ComponentProtection | undefined, () => Raw[], string[]]> = [
    ['protected, running, none yet: create', running, PROTECTION, () => [], [`create ${OURS} ScheduleCreated`]],
    ['protected, stopped, none yet: create paused', stopped, PROTECTION, () => [], [`create ${OURS} ScheduleCreated`]],
    ['not protected, none: nothing', running, undefined, () => [], []],
    ['policy one in step: nothing', running, PROTECTION, () => [policySchedule()], []],
    ['policy one, component stops: pause', stopped, PROTECTION, () => [policySchedule()], [`patch ${OURS} SchedulePaused`]],
    ['policy one paused, component Ready: resume', running, PROTECTION, () => [policySchedule(stopped)], [`patch ${OURS} ScheduleResumed`]],
    // Velero v1.11.1 backs up at once on a resume after a missed run (schedule_controller.go L246-257): not while a replica is not Ready.
    ['policy one paused, a pod runs but not every replica is Ready: stays paused', starting, PROTECTION, () => [policySchedule(stopped)], []],
    ['api one paused, a pod runs but not every replica is Ready: stays paused', starting, PROTECTION, () => [pausedApiSchedule()], []],
    ['api one paused, component Ready: resume', running, PROTECTION, () => [pausedApiSchedule()], [`patch ${OURS} ScheduleResumed`]],
    ['protected, a pod runs but not Ready, none yet: create paused', starting, PROTECTION, () => [], [`create ${OURS} ScheduleCreated`]],
    ['active one, a replica stops being Ready (a rollout): left running', starting, PROTECTION, () => [policySchedule()], []],
    ['policy cron changed: update', running, { ...PROTECTION, schedule: '0 4 * * *' }, () => [policySchedule()], [`patch ${OURS} ScheduleUpdated`]],
    ['policy ttl changed: update', running, { ...PROTECTION, ttl: ttl('7d') }, () => [policySchedule()], [`patch ${OURS} ScheduleUpdated`]],
    ['policy keep dropped: update', running, { rule: 'orders-db', schedule: '0 3 * * *', ttl: ttl('30d'), ...LIFE }, () => [policySchedule()], [`patch ${OURS} ScheduleUpdated`]],
    ['another rule protects it now: update', running, { ...PROTECTION, rule: 'any-db' }, () => [policySchedule()], [`patch ${OURS} ScheduleUpdated`]],
    ['updated and stopped: update and pause', stopped, { ...PROTECTION, keep: 3 }, () => [policySchedule()], [`patch ${OURS} ScheduleUpdated`, `patch ${OURS} SchedulePaused`]],
    ['policy one, protection gone: delete', running, undefined, () => [policySchedule()], [`delete ${OURS} ScheduleDeleted`]],
    ['api one, protection differs: left alone', running, PROTECTION, () => [apiSchedule()], []],
    ['api one, not protected: left alone', running, undefined, () => [apiSchedule()], []],
    ['api one, component stops: pause', stopped, PROTECTION, () => [apiSchedule()], [`patch ${OURS} SchedulePaused`]],
    ['region-API one counts as api: paused, not deleted', stopped, undefined, () => [regionSchedule()], [`patch ${SID} SchedulePaused`]],
    ['component gone: every Schedule deleted', undefined, undefined, () => [regionSchedule(), policySchedule()], [`delete ${SID} ScheduleDeleted`, `delete ${OURS} ScheduleDeleted`]],
    ['component deleted (no PVCs): api one deleted too', deleted, PROTECTION, () => [apiSchedule()], [`delete ${OURS} ScheduleDeleted`]],
    ['region-API one and ours: api wins over policy', running, PROTECTION, () => [policySchedule(running, PROTECTION, '2025-01-01T00:00:00Z'), regionSchedule('2026-03-01T00:00:00Z')], [`delete ${OURS} ScheduleDeleted`]],
    ['two api ones: the oldest stays', running, undefined, () => [apiSchedule('0 1 * * *', '2026-02-01T00:00:00Z'), regionSchedule('2026-01-01T00:00:00Z')], [`delete ${OURS} ScheduleDeleted`]],
  ];

  test.each(cases)('%s', (_name, subject, protection, existing, expected) => {
    const raws = existing();
    const actions = desiredSchedule(subject, protection, views(raws), SETTINGS, NOW);
    expect(summary(actions)).toEqual(expected);
    // Level-based: once they are applied, nothing more is asked.
    expect(desiredSchedule(subject, protection, views(apply(raws, actions)), SETTINGS, NOW)).toEqual([]);
  });

  test('a created policy Schedule carries its source, rule, keep, cron, TTL, and is paused when the component is stopped', () => {
    const [create] = desiredSchedule(stopped, PROTECTION, [], SETTINGS, NOW);
    expect(create).toMatchObject({
      kind: 'create',
      object: {
        metadata: {
          name: OURS,
          namespace: 'velero',
          labels: { 'backup.wutong.io/schedule-source': 'policy', 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d' },
          annotations: { 'backup.wutong.io/rule': 'orders-db', 'backup.wutong.io/keep': '7' },
        },
        spec: { schedule: '0 3 * * *', paused: true, template: { ttl: '720h0m0s', includedNamespaces: ['shop'], labelSelector: { matchLabels: { service_id: SID } } } },
      },
    });
    const [runningCreate] = desiredSchedule(running, { rule: PROTECTION.rule, schedule: PROTECTION.schedule, ttl: PROTECTION.ttl, ...LIFE }, [], SETTINGS, NOW);
    const object = runningCreate?.kind === 'create' ? runningCreate.object : undefined;
    expect(object?.spec).not.toHaveProperty('paused');
    expect(object?.metadata.annotations).not.toHaveProperty(['backup.wutong.io/keep']);
  });

  test('an update changes what the policy says and nothing the API server or Velero own', () => {
    const current = policySchedule();
    const [update] = desiredSchedule(running, { rule: PROTECTION.rule, schedule: '0 4 * * *', ttl: PROTECTION.ttl, ...LIFE }, views([current]), SETTINGS, NOW);
    expect(update?.kind === 'patch' ? update.patch : undefined).toEqual({
      metadata: {
        resourceVersion: current.metadata.resourceVersion,
        labels: { 'wutong.io/backup-ttl': '30d' },
        annotations: {
          'wutong.io/desc': 'backups by policy rule orders-db',
          'wutong.io/last_modifier': 'wutong-backup policy',
          'backup.wutong.io/rule': 'orders-db',
          'backup.wutong.io/keep': null,
        },
      },
      spec: { schedule: '0 4 * * *', template: { ttl: '720h0m0s', defaultVolumesToFsBackup: false } },
    });
  });

  test('created while a pod runs but is not Ready: paused, and the Event says why', () => {
    const [create] = desiredSchedule(starting, PROTECTION, [], SETTINGS, NOW);
    expect(create).toMatchObject({ kind: 'create', object: { spec: { paused: true } } });
    expect(create?.message).toContain('paused: the component is not Ready yet');
  });

  // Velero v1.11.1 pkg/controller/schedule_controller.go L246-257 (due when now is after cron.Next(status.lastBackup)) and L135-139
  // (a spec change is reconciled at once): a cron edit whose new spec has a run between the last backup and now would back up at once.
  describe('a cron change never makes Velero back up at once', () => {
    const ranAt3 = (): Raw => ({ ...policySchedule(), status: { phase: 'Enabled', lastBackup: '2026-01-01T03:00:00Z' } });
    const patchAt = (schedule: string, now: string): Record<string, unknown> | undefined => {
      const [update] = desiredSchedule(running, { ...PROTECTION, schedule }, views([ranAt3()]), SETTINGS, new Date(now));
      return update?.kind === 'patch' ? update.patch : undefined;
    };

    test('0 3 → 0 4 at 10:00 after the 03:00 run: lastBackup becomes the time of the change, so the next run is 04:00 tomorrow', () => {
      expect(patchAt('0 4 * * *', '2026-01-01T10:00:00.750Z')).toMatchObject({ spec: { schedule: '0 4 * * *' }, status: { lastBackup: '2026-01-01T10:00:00Z' } });
    });

    test('0 3 → 0 12 at 10:00: the next run under the new spec (12:00) is still ahead, lastBackup is left as Velero wrote it', () => {
      expect(patchAt('0 12 * * *', '2026-01-01T10:00:00Z')).not.toHaveProperty('status');
    });

    test('a change of the TTL only never touches lastBackup', () => {
      const [update] = desiredSchedule(running, { ...PROTECTION, ttl: ttl('7d') }, views([ranAt3()]), SETTINGS, new Date('2026-03-01T00:00:00Z'));
      expect(update?.kind === 'patch' ? update.patch : undefined).not.toHaveProperty('status');
    });

    test('never run yet: counted from its creation, as Velero does', () => {
      const fresh = policySchedule();
      const [update] = desiredSchedule(running, { ...PROTECTION, schedule: '@hourly' }, views([fresh]), SETTINGS, new Date('2026-01-01T02:10:00Z'));
      expect(update?.kind === 'patch' ? update.patch : undefined).toMatchObject({ status: { lastBackup: '2026-01-01T02:10:00Z' } });
    });
  });

  test('a policy Schedule made when Backups copied every volume (defaultVolumesToFsBackup true) is brought to the include list', () => {
    const older = policySchedule();
    ((older.spec as { template: Record<string, unknown> }).template).defaultVolumesToFsBackup = true;
    const [update] = desiredSchedule(running, PROTECTION, views([older]), SETTINGS, NOW);
    expect(update?.kind).toBe('patch');
    const patched = mergePatch(older, update?.kind === 'patch' ? update.patch : {}) as Raw;
    expect((patched.spec as { template: Record<string, unknown> }).template.defaultVolumesToFsBackup).toBe(false);
    expect(desiredSchedule(running, PROTECTION, views([patched]), SETTINGS, NOW)).toEqual([]);
  });

  test('a Schedule already being deleted is neither kept nor deleted again', () => {
    const going = policySchedule();
    going.metadata.deletionTimestamp = '2026-06-01T00:00:00Z';
    expect(summary(desiredSchedule(running, PROTECTION, views([going]), SETTINGS, NOW))).toEqual([`create ${OURS} ScheduleCreated`]);
    expect(desiredSchedule(undefined, undefined, views([going]), SETTINGS, NOW)).toEqual([]);
  });
});
