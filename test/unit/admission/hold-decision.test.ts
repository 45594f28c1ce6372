import fastJsonPatch from 'fast-json-patch';
import { describeTemplateChange, holdDecision, type HoldDecision } from '../../../src/admission/hold-decision.js';
import type { Workload } from '../../../src/admission/workload.js';
import { readUpgradeHold, upgradeHoldValue, type UpgradeHold } from '../../../src/components/upgrade-hold.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { namespaceTag } from '../../../src/velero/object-names.js';

const SID = '0123456789abcdef0123456789abcdef';
const KEY = 'backup.wutong.io/upgrade-hold';
const NOW = new Date('2026-12-02T08:15:30.456Z');
const LATER = new Date('2026-12-02T08:17:00.000Z');

const POLICY = loadPolicy(
  `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: plain
    profile: mysql
    match: { labels: { service_alias: plain } }
    protection: { schedule: "@daily" }
  - name: db
    profile: mysql
    match: { namespaces: [shop] }
    protection: { schedule: "@daily", backupBeforeUpgrade: true, upgradeHoldLimit: 20s }
`,
  'policy.yaml',
  1,
);

const labels = (extra: Record<string, string> = {}): Record<string, string> => ({ creator: 'Wutong', service_id: SID, service_alias: 'gr1234', ...extra });

/** A StatefulSet as the API server hands it to the webhook: defaulted (RollingUpdate, partition 0). */
function statefulSet(image = 'mysql:8.0.36', changes: (w: Workload) => void = () => undefined): Workload {
  const w: Workload = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'gr1234', namespace: 'shop', labels: labels() },
    spec: {
      replicas: 2,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      template: {
        metadata: { labels: labels() },
        spec: { containers: [{ name: 'mysql', image, volumeMounts: [{ name: 'manual1001', mountPath: '/var/lib/mysql' }] }] },
      },
      volumeClaimTemplates: [{ metadata: { name: 'manual1001' } }],
    },
  };
  changes(w);
  return w;
}

function deployment(image = 'mysql:8.0.36', changes: (w: Workload) => void = () => undefined): Workload {
  const w: Workload = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'gr1234', namespace: 'shop', labels: labels() },
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: labels() },
        spec: {
          containers: [{ name: 'mysql', image, volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'gr1234-data' } }],
        },
      },
    },
  };
  changes(w);
  return w;
}

/** The object the API server stores after the webhook's patch. */
function applied(w: Workload, decision: HoldDecision): Workload {
  if (decision.kind !== 'hold') return w;
  return fastJsonPatch.applyPatch(structuredClone(w), decision.ops, true, false).newDocument;
}

const holdOn = (w: Workload): UpgradeHold | undefined => readUpgradeHold(w.metadata?.annotations?.[KEY]);

const decideSts = (before: Workload, after: Workload, now = NOW, namespace = 'shop') => holdDecision('StatefulSet', before, after, POLICY, namespace, now);

describe('a new hold', () => {
  test('an image change of a protected StatefulSet sets partition = replicas and records the hold', () => {
    const decision = decideSts(statefulSet(), statefulSet('mysql:8.0.37'));
    expect(decision).toMatchObject({ kind: 'hold', fresh: true });
    if (decision.kind !== 'hold') throw new Error('not held');
    const hold: UpgradeHold = {
      state: 'held',
      heldAt: '2026-12-02T08:15:30Z',
      backup: `${SID}-${namespaceTag('shop')}-upgrade-20261202081530`,
      reason: 'image mysql:8.0.36 → mysql:8.0.37',
      partition: 0,
    };
    expect(decision.hold).toEqual(hold);
    // Only the partition and the record, nothing else of the object.
    expect(decision.ops).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { [KEY]: upgradeHoldValue(hold) } },
      { op: 'add', path: '/spec/updateStrategy/rollingUpdate/partition', value: 2 },
    ]);
    const stored = applied(statefulSet('mysql:8.0.37'), decision);
    expect(stored.spec?.updateStrategy?.rollingUpdate?.partition).toBe(2);
    expect(stored.spec?.template).toEqual(statefulSet('mysql:8.0.37').spec?.template);
  });

  test('an existing annotations map gets one key; a missing rollingUpdate is added whole', () => {
    const after = statefulSet('mysql:8.0.37', (w) => {
      w.metadata!.annotations = { note: 'mine' };
      w.spec!.updateStrategy = { type: 'RollingUpdate' };
    });
    const decision = decideSts(statefulSet(), after);
    if (decision.kind !== 'hold') throw new Error('not held');
    expect(decision.ops.map((o) => o.path)).toEqual(['/metadata/annotations/backup.wutong.io~1upgrade-hold', '/spec/updateStrategy/rollingUpdate']);
    const stored = applied(after, decision);
    expect(stored.metadata?.annotations?.note).toBe('mine');
    expect(stored.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } });
    expect(decision.hold.partition).toBeNull();
  });

  test('the user\'s own partition is remembered', () => {
    const decision = decideSts(statefulSet('mysql:8.0.36', (w) => (w.spec!.updateStrategy!.rollingUpdate!.partition = 1)), statefulSet('mysql:8.0.37', (w) => (w.spec!.updateStrategy!.rollingUpdate!.partition = 1)));
    expect(decision).toMatchObject({ kind: 'hold', hold: { partition: 1 } });
  });

  test('a Deployment with a PVC volume is paused, remembering it was not', () => {
    const decision = holdDecision('Deployment', deployment(), deployment('mysql:8.0.37'), POLICY, 'shop', NOW);
    if (decision.kind !== 'hold') throw new Error('not held');
    expect(decision.hold).toMatchObject({ paused: false, backup: `${SID}-${namespaceTag('shop')}-upgrade-20261202081530` });
    expect(decision.hold).not.toHaveProperty('partition');
    expect(decision.ops).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { [KEY]: upgradeHoldValue(decision.hold) } },
      { op: 'add', path: '/spec/paused', value: true },
    ]);
  });

  test('an env change, a restart and a new container are template changes too', () => {
    const env = statefulSet('mysql:8.0.36', (w) => (w.spec!.template!.spec!.containers![0]!.env = [{ name: 'TZ', value: 'UTC' }]));
    expect(decideSts(statefulSet(), env)).toMatchObject({ kind: 'hold', hold: { reason: 'container mysql changed' } });
    const restart = statefulSet('mysql:8.0.36', (w) => (w.spec!.template!.metadata!.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-12-02T08:00:00Z' }));
    expect(decideSts(statefulSet(), restart)).toMatchObject({ kind: 'hold', hold: { reason: 'restart requested' } });
    const sidecar = statefulSet('mysql:8.0.37', (w) => w.spec!.template!.spec!.containers!.push({ name: 'exporter', image: 'exporter:1' }, { name: 'b', image: 'b' }));
    expect(decideSts(statefulSet(), sidecar)).toMatchObject({ kind: 'hold', hold: { reason: 'image mysql:8.0.36 → mysql:8.0.37, container exporter added and 1 more' } });
  });
});

describe('never held (and never touched)', () => {
  const image = (i: string, f: (w: Workload) => void) => statefulSet(i, f);
  test.each<[string, Workload, Workload, string, string?]>([
    ['an update that leaves the template alone (a scale, a label)', statefulSet(), statefulSet('mysql:8.0.36', (w) => { w.spec!.replicas = 3; w.metadata!.labels!.x = 'y'; }), 'pod template unchanged'],
    ['a workload no rule protects', statefulSet(), statefulSet('mysql:8.0.37'), 'not protected by any rule', 'elsewhere'],
    ['a rule with protection but without backupBeforeUpgrade', image('mysql:8.0.36', (w) => (w.spec!.template!.metadata!.labels!.service_alias = 'plain')), image('mysql:8.0.37', (w) => (w.spec!.template!.metadata!.labels!.service_alias = 'plain')), 'rule plain does not ask for backupBeforeUpgrade', 'elsewhere'],
    ['a StatefulSet without claim templates or PVC volumes', image('mysql:8.0.36', (w) => delete w.spec!.volumeClaimTemplates), image('mysql:8.0.37', (w) => delete w.spec!.volumeClaimTemplates), 'no persistent volume claims'],
    ['no replicas', image('mysql:8.0.36', (w) => (w.spec!.replicas = 0)), image('mysql:8.0.37', (w) => (w.spec!.replicas = 0)), 'no replicas: nothing runs that a rollout would replace'],
    ['an OnDelete StatefulSet (the user replaces pods)', image('mysql:8.0.36', (w) => (w.spec!.updateStrategy = { type: 'OnDelete' })), image('mysql:8.0.37', (w) => (w.spec!.updateStrategy = { type: 'OnDelete' })), 'updateStrategy OnDelete is not RollingUpdate'],
    ['not a Wutong workload', statefulSet(), image('mysql:8.0.37', (w) => delete w.metadata!.labels!.creator), 'not a Wutong workload (creator!=Wutong)'],
    ['a workload without a valid service_id label', statefulSet(), image('mysql:8.0.37', (w) => (w.metadata!.labels!.service_id = 'not-hex')), 'no valid service_id label on the workload'],
    ['a pod template outside the podSelector', statefulSet(), image('mysql:8.0.37', (w) => (w.spec!.template!.metadata!.labels!.creator = 'someone')), 'pod template not selected: creator!=Wutong'],
    ['a pod template opted out with backup.wutong.io/inject=false', statefulSet(), image('mysql:8.0.37', (w) => (w.spec!.template!.metadata!.labels!['backup.wutong.io/inject'] = 'false')), 'pod template label backup.wutong.io/inject=false'],
  ])('%s', (_what, before, after, reason, namespace = 'shop') => {
    expect(decideSts(before, after, NOW, namespace)).toEqual({ kind: 'skip', reason });
  });

  test('a Deployment without PVC volumes', () => {
    const noPvc = (i: string) => deployment(i, (w) => (w.spec!.template!.spec!.volumes = [{ name: 'tmp', emptyDir: {} }]));
    expect(holdDecision('Deployment', noPvc('mysql:8.0.36'), noPvc('mysql:8.0.37'), POLICY, 'shop', NOW)).toEqual({ kind: 'skip', reason: 'no persistent volume claims' });
  });

  test('the reason is given for debug logs', () => {
    expect(decideSts(statefulSet(), statefulSet('mysql:8.0.37'), NOW, 'elsewhere')).toEqual({ kind: 'skip', reason: 'not protected by any rule' });
  });
});

describe('a hold in force', () => {
  const first = decideSts(statefulSet(), statefulSet('mysql:8.0.37'));
  const held = applied(statefulSet('mysql:8.0.37'), first);

  test('Wutong\'s full rewrite without our annotation or partition keeps the hold: same heldAt, same Backup', () => {
    const rewrite = statefulSet('mysql:8.0.37');
    const decision = decideSts(held, rewrite, LATER);
    expect(decision).toMatchObject({ kind: 'hold', fresh: false });
    const stored = applied(rewrite, decision);
    expect(holdOn(stored)).toEqual(holdOn(held));
    expect(stored.spec?.updateStrategy?.rollingUpdate?.partition).toBe(2);
  });

  test('a second template change during the hold keeps the first hold (one Backup)', () => {
    const again = statefulSet('mysql:8.0.38');
    const stored = applied(again, decideSts(held, again, LATER));
    expect(holdOn(stored)?.backup).toBe(`${SID}-${namespaceTag('shop')}-upgrade-20261202081530`);
    expect(holdOn(stored)?.heldAt).toBe('2026-12-02T08:15:30Z');
  });

  test('an update that carries the hold as it is needs no patch', () => {
    const relabelled = structuredClone(held);
    relabelled.metadata!.labels!.extra = 'x';
    expect(decideSts(held, relabelled, LATER)).toEqual({ kind: 'hold', fresh: false, hold: holdOn(held), ops: [] });
  });

  test('a scale during the hold moves the held partition with the replicas, and keeps the user\'s', () => {
    const scaled = structuredClone(held);
    scaled.spec!.replicas = 3;
    const stored = applied(scaled, decideSts(held, scaled, LATER));
    expect(stored.spec?.updateStrategy?.rollingUpdate?.partition).toBe(3);
    expect(holdOn(stored)?.partition).toBe(0);
  });

  test('a partition the user sets during the hold is theirs to get back; ours is not mistaken for theirs', () => {
    const mine = structuredClone(held);
    mine.spec!.updateStrategy!.rollingUpdate!.partition = 1;
    const stored = applied(mine, decideSts(held, mine, LATER));
    expect(holdOn(stored)?.partition).toBe(1);
    expect(stored.spec?.updateStrategy?.rollingUpdate?.partition).toBe(2);
    // Wutong's rewrite without a partition at all: unset is then the user's.
    const unset = statefulSet('mysql:8.0.37', (w) => (w.spec!.updateStrategy = { type: 'RollingUpdate' }));
    expect(holdOn(applied(unset, decideSts(stored, unset, LATER)))?.partition).toBeNull();
  });

  test('the controller\'s release of THIS hold lets it go; a release of another hold does not', () => {
    const release = structuredClone(held);
    const hold = holdOn(held)!;
    release.metadata!.annotations![KEY] = upgradeHoldValue({ ...hold, state: 'released', outcome: 'completed', releasedAt: '2026-12-02T08:16:00Z' });
    release.spec!.updateStrategy!.rollingUpdate!.partition = 0;
    expect(decideSts(held, release, LATER)).toEqual({ kind: 'skip', reason: 'the controller released the hold' });

    const stale = structuredClone(held);
    stale.metadata!.annotations![KEY] = upgradeHoldValue({ ...hold, heldAt: '2026-12-01T00:00:00Z', state: 'released', outcome: 'completed' });
    stale.spec!.updateStrategy!.rollingUpdate!.partition = 0;
    const kept = applied(stale, decideSts(held, stale, LATER));
    expect(holdOn(kept)).toEqual(hold);
    expect(kept.spec?.updateStrategy?.rollingUpdate?.partition).toBe(2);
  });

  test('a garbled record on the new object is replaced by the hold in force', () => {
    const garbled = structuredClone(held);
    garbled.metadata!.annotations![KEY] = '{not json';
    expect(holdOn(applied(garbled, decideSts(held, garbled, LATER)))).toEqual(holdOn(held));
  });

  test('after the release, a new template change starts a new hold with a new Backup', () => {
    const hold = holdOn(held)!;
    const released = structuredClone(held);
    released.metadata!.annotations![KEY] = upgradeHoldValue({ ...hold, state: 'released', outcome: 'completed' });
    released.spec!.updateStrategy!.rollingUpdate!.partition = 0;
    const next = structuredClone(released);
    next.spec!.template!.spec!.containers![0]!.image = 'mysql:8.0.38';
    const decision = decideSts(released, next, LATER);
    expect(decision).toMatchObject({ kind: 'hold', fresh: true, hold: { backup: `${SID}-${namespaceTag('shop')}-upgrade-20261202081700`, reason: 'image mysql:8.0.37 → mysql:8.0.38', partition: 0 } });
    // Wutong's rewrite after a release (no annotation) with no template change: nothing to do.
    expect(decideSts(released, statefulSet('mysql:8.0.37'), LATER)).toEqual({ kind: 'skip', reason: 'pod template unchanged' });
  });

  test('a Deployment: the user\'s paused survives, ours is not taken for theirs', () => {
    const d = holdDecision('Deployment', deployment(), deployment('mysql:8.0.37'), POLICY, 'shop', NOW);
    const heldDeployment = applied(deployment('mysql:8.0.37'), d);
    const rewrite = deployment('mysql:8.0.37');
    const kept = applied(rewrite, holdDecision('Deployment', heldDeployment, rewrite, POLICY, 'shop', LATER));
    expect(kept.spec?.paused).toBe(true);
    expect(holdOn(kept)).toMatchObject({ paused: false, heldAt: '2026-12-02T08:15:30Z' });
  });
});

test('describeTemplateChange names a removed container', () => {
  const two = statefulSet('a', (w) => w.spec!.template!.spec!.containers!.push({ name: 'side', image: 's' }));
  expect(describeTemplateChange(two, statefulSet('a'))).toBe('container side removed');
});
