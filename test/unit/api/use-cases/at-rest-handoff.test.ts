import { ApiError } from '../../../../src/api/api-error.js';
import { atRestAnswer, type AtRestAnswerContext } from '../../../../src/api/use-cases/at-rest-answer.js';
import { handOffAtRest } from '../../../../src/api/use-cases/at-rest-handoff.js';
import type { BackupApiDeps } from '../../../../src/api/use-cases/backup-api-deps.js';
import { idempotencyOf } from '../../../../src/api/use-cases/idempotency.js';
import { componentKey } from '../../../../src/components/component-key.js';
import type { Component } from '../../../../src/components/component.js';
import { atRestRequestLoop } from '../../../../src/controller/at-rest-request-loop.js';
import { atRestRequestObject, decisionPatch, handoffTimes, type HandoffOutcome } from '../../../../src/holder/at-rest-request.js';
import { buildBackup } from '../../../../src/velero/backup-object.js';
import { DEFAULT_BACKUP_TTL } from '../../../../src/velero/backup-ttl.js';
import { viewBackup, type BackupView } from '../../../../src/velero/velero-views.js';
import { atRestRequestLoopDeps, FakeRequestRecords } from '../../holder/at-rest-request-fakes.js';
import { FakeCluster, FakeVelero, NS, SID } from '../../holder/holder-fakes.js';

const START = new Date('2026-12-02T08:00:00.000Z');
const ALIAS = 'gr0a1b2c';
const component: Component = {
  key: componentKey(NS, SID),
  ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: ALIAS },
  serviceId: SID,
  namespace: NS,
  volumeClaims: ['manual1001-gr0a1b2c-0'],
  runningPods: [],
  pods: [],
};
const backupNamed = (name: string, idempotency?: { key: string; digest: string }) =>
  buildBackup({ name, veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: NS, ttl: DEFAULT_BACKUP_TTL, desc: 'd', operator: 'alice', ...(idempotency ? { idempotencyKey: idempotency.key, requestDigest: idempotency.digest } : {}) });

/** The API's deps for the hand-over, on a clock that moves only when the API sleeps (each poll). */
function apiSide(records: FakeRequestRecords, onPoll: (elapsedMs: number) => void | Promise<void> = () => undefined) {
  const clock = { ms: START.getTime() };
  const deps = {
    atRestRequests: records,
    settings: { holderStartTimeoutMs: 60_000, atRestPollMs: 250 },
    now: () => new Date(clock.ms),
    sleep: async (ms: number) => {
      clock.ms += ms;
      await onPoll(clock.ms - START.getTime());
    },
  } as unknown as BackupApiDeps;
  return { deps, clock };
}

const view = (name: string): BackupView => viewBackup({ metadata: { name, namespace: 'velero', uid: name, labels: { 'wutong.io/service_id': SID } }, spec: { includedNamespaces: [NS] }, status: {} })!;

describe('the API waits on its request record', () => {
  test('the outcome, as soon as the controller writes it; the record made once, read every 250 ms', async () => {
    const records = new FakeRequestRecords();
    const name = `at-rest-${SID}-backup-20261202080000-abcd`;
    const { deps } = apiSide(records, async (elapsed) => {
      if (elapsed === 1_000) await records.decide(name, decisionPatch(records.records.get(name)!.metadata.resourceVersion, { outcome: { kind: 'no-claims' }, decidedAt: START.toISOString() }));
    });
    const result = await handOffAtRest(deps, component, backupNamed(`${SID}-backup-20261202080000-abcd`), undefined);
    expect(result).toEqual({ outcome: { kind: 'no-claims' }, requestedBackup: `${SID}-backup-20261202080000-abcd`, ownRecord: true, waitedMs: 1_000 });
    expect(records.calls.filter((c) => c.startsWith('create'))).toEqual([`create ${name}`]);
    expect(records.calls.filter((c) => c.startsWith('get'))).toHaveLength(5);
  });

  test('no outcome by the record\'s deadline (no controller): no outcome, after 15 s + HOLDER_START_TIMEOUT + 15 s, and 503 controller_unavailable', async () => {
    const records = new FakeRequestRecords();
    const { deps, clock } = apiSide(records);
    const result = await handOffAtRest(deps, component, backupNamed('b1'), undefined);
    expect(result.outcome).toBeUndefined();
    expect(clock.ms - START.getTime()).toBe(90_000);
    const answer = atRestAnswer(result.outcome, { serviceAlias: ALIAS, namespace: NS, ...result });
    if (answer.kind !== 'error') throw new Error('not an error');
    expect(answer.error).toMatchObject({ status: 503, code: 'controller_unavailable' });
    expect(answer.error.message).toMatch(/the controller did not take the request within 90s/);
  });

  test('a retry with the same Idempotency-Key meets the first try\'s record and waits on it: one record, its Backup, replayed; another body is 422', async () => {
    const records = new FakeRequestRecords();
    const first = idempotencyOf('k1', 'POST backup', component.key, { desc: 'd' })!;
    const { deps } = apiSide(records);
    // The first try's record, already answered.
    const firstBackup = backupNamed('first-try', first);
    await records.create(atRestRequestObject(`at-rest-${first.key}`, { component: { namespace: NS, serviceId: SID }, backup: firstBackup, ...handoffTimes(START, 60_000) }));
    const started: HandoffOutcome = { kind: 'started', backup: view('first-try'), holder: 'h' };
    await records.decide(`at-rest-${first.key}`, decisionPatch(records.records.get(`at-rest-${first.key}`)!.metadata.resourceVersion, { outcome: started, decidedAt: START.toISOString() }));

    const retry = await handOffAtRest(deps, component, backupNamed('second-try', first), first);
    expect(retry).toMatchObject({ outcome: started, requestedBackup: 'first-try', ownRecord: false });
    expect(atRestAnswer(retry.outcome, { serviceAlias: ALIAS, namespace: NS, ...retry })).toEqual({ kind: 'backup', backup: view('first-try'), replayed: true });
    expect([...records.records.keys()]).toEqual([`at-rest-${first.key}`]);

    const other = idempotencyOf('k1', 'POST backup', component.key, { desc: 'another' })!;
    await expect(handOffAtRest(deps, component, backupNamed('third-try', other), other)).rejects.toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });

  test('in one process (ROLE=all): the API\'s record is taken by the in-process controller loop, which makes the holder and the Backup', async () => {
    const records = new FakeRequestRecords();
    const cluster = new FakeCluster();
    const velero = new FakeVelero();
    const loop = atRestRequestLoop(atRestRequestLoopDeps(records, cluster, velero, () => START),
      300_000,
    );
    const unwatch = loop.watch();
    loop.queue.start();
    const { deps } = apiSide(records, () => loop.queue.idle());
    const result = await handOffAtRest(deps, component, backupNamed(`${SID}-backup-20261202080000-abcd`), undefined);
    unwatch();
    loop.queue.stop();
    expect(result.outcome).toMatchObject({ kind: 'started', holder: `wutong-backup-holder-${SID}` });
    expect(atRestAnswer(result.outcome, { serviceAlias: ALIAS, namespace: NS, ...result })).toMatchObject({ kind: 'backup', replayed: false, backup: { metadata: { name: `${SID}-backup-20261202080000-abcd` } } });
    expect(velero.created).toHaveLength(1);
  });
});

describe('what the console hears', () => {
  const context: AtRestAnswerContext = { serviceAlias: ALIAS, namespace: NS, requestedBackup: 'mine', ownRecord: true, waitedMs: 2_000 };
  const error = (outcome: HandoffOutcome | undefined): { status: number; code: string; message: string } => {
    const answer = atRestAnswer(outcome, context);
    if (answer.kind !== 'error') throw new Error(`not an error: ${answer.kind}`);
    expect(answer.error).toBeInstanceOf(ApiError);
    return { status: answer.error.status, code: answer.error.code, message: answer.error.message };
  };

  test('a Backup: started is new, earlier is a replay unless it is this request\'s own Backup met again', () => {
    expect(atRestAnswer({ kind: 'started', backup: view('mine'), holder: 'h' }, context)).toEqual({ kind: 'backup', backup: view('mine'), replayed: false });
    expect(atRestAnswer({ kind: 'earlier', backup: view('mine') }, context)).toEqual({ kind: 'backup', backup: view('mine'), replayed: false });
    expect(atRestAnswer({ kind: 'earlier', backup: view('first-try') }, context)).toEqual({ kind: 'backup', backup: view('first-try'), replayed: true });
    expect(atRestAnswer({ kind: 'started', backup: view('first-try'), holder: 'h' }, { ...context, ownRecord: false })).toMatchObject({ replayed: true });
  });

  test('the refusals as before the hand-over: 409s and 503 holder_not_running; the controller\'s own: 503 controller_unavailable and controller_refused', () => {
    expect(error({ kind: 'unfinished', backup: view('b0') })).toMatchObject({ status: 409, code: 'backup_in_progress' });
    expect(error({ kind: 'holder-busy', holder: 'h', serving: 'restore r1' })).toMatchObject({ status: 409, code: 'backup_in_progress', message: expect.stringContaining(`holder pod ${NS}/h for restore r1`) as unknown });
    expect(error({ kind: 'no-claims' })).toMatchObject({ status: 409, code: 'no_volumes' });
    expect(error({ kind: 'claims-deleting', claim: 'data-0' })).toMatchObject({ status: 409, code: 'component_deleting' });
    expect(error({ kind: 'not-running', holder: 'h', why: 'it was not Running within 1m' })).toMatchObject({ status: 503, code: 'holder_not_running' });
    expect(error({ kind: 'expired' })).toMatchObject({ status: 503, code: 'controller_unavailable', message: expect.stringContaining('too late') as unknown });
    expect(error(undefined)).toMatchObject({ status: 503, code: 'controller_unavailable', message: expect.stringContaining('did not take the request within 2s') as unknown });
    expect(error({ kind: 'refused', why: 'namespace x is not a tenant env' })).toMatchObject({ status: 503, code: 'controller_refused', message: expect.stringContaining('namespace x is not a tenant env') as unknown });
  });
});
