import { atRestRequestName, atRestRequestObject, decisionPatch, earlierTryOf, handoffTimes, readAtRestRequest, readOutcome, type AtRestHandoff, type HandoffOutcome } from '../../../src/holder/at-rest-request.js';
import { atRestRequestStep } from '../../../src/holder/at-rest-request-step.js';
import { buildBackup } from '../../../src/velero/backup-object.js';
import { DEFAULT_BACKUP_TTL } from '../../../src/velero/backup-ttl.js';
import type { VeleroObject } from '../../../src/velero/velero-resources.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';
import { NS, SID } from './holder-fakes.js';

const NOW = new Date('2026-12-02T08:00:00.000Z');
const BACKUP_NAME = `${SID}-backup-20261202080000-abcd`;
const backup = (over: { idempotencyKey?: string; namespace?: string } = {}): VeleroObject =>
  buildBackup({
    name: BACKUP_NAME,
    veleroNamespace: 'velero',
    storageLocation: 'default',
    serviceId: SID,
    componentNamespace: over.namespace ?? NS,
    ttl: DEFAULT_BACKUP_TTL,
    desc: 'before the move',
    operator: 'alice',
    ...(over.idempotencyKey ? { idempotencyKey: over.idempotencyKey, requestDigest: 'd'.repeat(64) } : {}),
  });
const handoff = (b = backup()): AtRestHandoff => ({ component: { namespace: NS, serviceId: SID }, backup: b, ...handoffTimes(NOW, 60_000) });

/** The ConfigMap as the API server answers it: the object the API sent, with uid and resourceVersion. */
const stored = (object: Record<string, unknown>, data: Record<string, string> = {}): unknown => {
  const raw = structuredClone(object) as { metadata: Record<string, unknown>; data: Record<string, string> };
  return { ...raw, metadata: { ...raw.metadata, uid: 'u1', resourceVersion: '7', namespace: 'wutong-backup' }, data: { ...raw.data, ...data } };
};

const view = (name: string, labels: Record<string, string> = {}): BackupView =>
  viewBackup({ metadata: { name, namespace: 'velero', uid: name, labels: { 'wutong.io/service_id': SID, ...labels } }, spec: { includedNamespaces: [NS] }, status: { phase: 'InProgress' } })!;

describe('the request record', () => {
  test('named after the Idempotency-Key when there is one (a retry meets it), else after the Backup; both valid ConfigMap names', () => {
    expect(atRestRequestName(BACKUP_NAME, undefined)).toBe(`at-rest-${BACKUP_NAME}`);
    expect(atRestRequestName(BACKUP_NAME, 'f'.repeat(40))).toBe(`at-rest-${'f'.repeat(40)}`);
    for (const name of [atRestRequestName(BACKUP_NAME, undefined), atRestRequestName(BACKUP_NAME, 'f'.repeat(40))]) {
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  test('times: the controller may start it for 15 s, the API waits 15 s + the holder start timeout + 15 s', () => {
    expect(handoffTimes(NOW, 60_000)).toEqual({ requestedAt: '2026-12-02T08:00:00.000Z', startBy: '2026-12-02T08:00:15.000Z', deadline: '2026-12-02T08:01:30.000Z' });
  });

  test('written by the API and read back by the controller: the same component, Backup and times; labelled for the watch; no outcome yet', () => {
    const request = handoff(backup({ idempotencyKey: 'k'.repeat(40) }));
    const object = atRestRequestObject('at-rest-x', request);
    expect(object).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'at-rest-x', labels: { 'backup.wutong.io/at-rest-request': 'true' } } });
    expect(readAtRestRequest(stored(object))).toEqual({ name: 'at-rest-x', uid: 'u1', resourceVersion: '7', handoff: request });
  });

  test('the outcome the controller writes is read back as written, Backups through viewBackup; each kind', () => {
    const outcomes: HandoffOutcome[] = [
      { kind: 'started', backup: view('b1'), holder: 'h' },
      { kind: 'earlier', backup: view('b1') },
      { kind: 'unfinished', backup: view('b0') },
      { kind: 'holder-busy', holder: 'h', serving: 'backup b0' },
      { kind: 'no-claims' },
      { kind: 'claims-deleting', claim: 'data-0' },
      { kind: 'not-running', holder: 'h', why: 'it was not Running within 1m' },
      { kind: 'refused', why: 'namespace x is not a tenant env' },
      { kind: 'expired' },
    ];
    for (const outcome of outcomes) {
      const patch = decisionPatch('7', { outcome, decidedAt: NOW.toISOString() }) as { metadata: { resourceVersion: string }; data: Record<string, string> };
      expect(patch.metadata).toEqual({ resourceVersion: '7' });
      const record = readAtRestRequest(stored(atRestRequestObject('at-rest-x', handoff()), patch.data));
      expect(record?.decision).toEqual({ outcome, decidedAt: NOW.toISOString() });
    }
  });

  test('what cannot be read is said, never guessed: no component, no Backup, bad times, bad JSON; an outcome of unknown shape is no outcome', () => {
    const unreadable = (request: string): string | undefined => readAtRestRequest({ metadata: { name: 'at-rest-x', uid: 'u', resourceVersion: '1' }, data: { request } })?.unreadable;
    expect(unreadable('{')).toMatch(/not a JSON object/);
    expect(unreadable(JSON.stringify({ ...handoff(), component: { namespace: NS } }))).toMatch(/no component/);
    expect(unreadable(JSON.stringify({ ...handoff(), backup: { kind: 'Restore' } }))).toMatch(/no Velero Backup/);
    expect(unreadable(JSON.stringify({ ...handoff(), startBy: 'soon' }))).toMatch(/not a time/);
    expect(readAtRestRequest({ data: {} })).toBeUndefined();
    expect(readOutcome({ kind: 'started', holder: 'h' })).toBeUndefined();
    expect(readOutcome({ kind: 'delete-everything' })).toBeUndefined();
    expect(readOutcome({ kind: 'holder-busy', holder: 'h' })).toBeUndefined();
  });

  test('an earlier try: its own Backup by name, or one carrying its Idempotency-Key; never another', () => {
    const key = 'k'.repeat(40);
    expect(earlierTryOf(backup())([view('other'), view(BACKUP_NAME)])?.metadata.name).toBe(BACKUP_NAME);
    expect(earlierTryOf(backup({ idempotencyKey: key }))([view('other'), view('first-try', { 'backup.wutong.io/idempotency-key': key })])?.metadata.name).toBe('first-try');
    expect(earlierTryOf(backup())([view('other', { 'backup.wutong.io/idempotency-key': key })])).toBeUndefined();
  });
});

describe('what the controller does with a record', () => {
  const context = (now: Date, tenants: readonly string[] = [NS]) => ({ now, keepMs: 600_000, isTenantNamespace: (ns: string) => tenants.includes(ns), veleroNamespace: 'velero' });
  const record = (request: AtRestHandoff | undefined, decision?: { outcome: HandoffOutcome; decidedAt: string }) => ({
    name: 'at-rest-x',
    uid: 'u',
    resourceVersion: '1',
    handoff: request,
    ...(request ? {} : { unreadable: 'it names no component (namespace, serviceId)' }),
    ...(decision ? { decision } : {}),
  });
  const at = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1_000);

  test('a valid request met before its startBy is run', () => {
    expect(atRestRequestStep(record(handoff()), context(at(14)))).toEqual({ kind: 'run', handoff: handoff() });
  });

  test('met after its startBy (the controller was down or busy): expired, never run; the API has given up or is about to', () => {
    expect(atRestRequestStep(record(handoff()), context(at(16)))).toEqual({ kind: 'decide', outcome: { kind: 'expired' } });
    expect(atRestRequestStep(record(handoff()), context(at(3_600)))).toEqual({ kind: 'decide', outcome: { kind: 'expired' } });
  });

  test('refused, saying why: not a tenant env, a Backup scoped to another namespace, with hooks, selecting more than the component, outside Velero\'s namespace; unreadable', () => {
    const refusal = (request: AtRestHandoff, tenants: readonly string[] = [NS]): string => {
      const step = atRestRequestStep(record(request), context(NOW, tenants));
      return step.kind === 'decide' && step.outcome.kind === 'refused' ? step.outcome.why : `not refused: ${step.kind}`;
    };
    expect(refusal(handoff(), ['other'])).toBe(`namespace ${NS} is not a tenant env`);
    expect(refusal(handoff(backup({ namespace: 'mallory-dev' })), [NS, 'mallory-dev'])).toBe(`its Backup's scope (mallory-dev/${SID}) is not the component ${NS}/${SID}`);
    const withSpec = (spec: Record<string, unknown>): AtRestHandoff => ({ ...handoff(), backup: { ...backup(), spec: { ...backup().spec, ...spec } } });
    expect(refusal(withSpec({ hooks: { resources: [{ name: 'x', pre: [{ exec: { command: ['sh'] } }] }] } }))).toMatch(/spec\.hooks/);
    expect(refusal(withSpec({ labelSelector: {} }))).toBe(`its Backup does not select exactly service_id=${SID}`);
    expect(refusal(withSpec({ labelSelector: { matchLabels: { service_id: SID, app: 'x' } } }))).toBe(`its Backup does not select exactly service_id=${SID}`);
    expect(refusal(withSpec({ orLabelSelectors: [{ matchLabels: { app: 'x' } }] }))).toBe('its Backup has orLabelSelectors');
    expect(refusal(withSpec({ includedNamespaces: [NS, 'kube-system'] }))).toMatch(/scope \(none\)/);
    expect(refusal({ ...handoff(), backup: { ...backup(), metadata: { ...backup().metadata, namespace: 'default' } } })).toMatch(/not Velero's/);
    expect(atRestRequestStep(record(undefined), context(NOW))).toEqual({ kind: 'decide', outcome: { kind: 'refused', why: 'the request cannot be read: it names no component (namespace, serviceId)' } });
  });

  test('decided: kept for keepMs after its decision (the API reads it), then removed; never run again', () => {
    const decided = record(handoff(), { outcome: { kind: 'no-claims' }, decidedAt: at(10).toISOString() });
    expect(atRestRequestStep(decided, context(at(11)))).toEqual({ kind: 'wait', ms: 599_000 });
    expect(atRestRequestStep(decided, context(at(610)))).toEqual({ kind: 'remove' });
  });
});
