import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { NO_EXCLUDED_NAMESPACES } from '../../../src/admission/excluded-namespaces.js';
import { MANAGED_ANNOTATION } from '../../../src/admission/ownership.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { backfillFor, describeBackfill, type BackfillPatch, type LivePod } from '../../../src/controller/backfill-patch.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { decodePatch, loadFixturePolicy, loadPodCase, podCaseNames } from '../../fixtures/pod-cases.js';

const policy = loadFixturePolicy();
const POLICY_TEXT = readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'policies', 'databases.yaml'), 'utf8');
const NAMESPACE = '8c2d4e6f0a1b4c3d9e8f7a6b5c4d3e2f';
const PRE = 'pre.hook.backup.velero.io/';

/** The fixture's pod as the API server holds it once the kubelet runs it: admitted while the webhook was down, so untouched. */
function runningPod(name: string): LivePod {
  const pod = structuredClone(loadPodCase(name).input.request.object) as LivePod;
  pod.metadata = { ...pod.metadata, resourceVersion: '4711' };
  pod.status = { phase: 'Running' };
  return pod;
}

/** What the API server does with a JSON merge patch of metadata (RFC 7386): null removes, a value sets. */
function applyMerge(pod: LivePod, patch: BackfillPatch): LivePod {
  const next = structuredClone(pod);
  next.metadata ??= {};
  for (const field of ['labels', 'annotations'] as const) {
    const changes = patch.metadata[field];
    if (!changes) continue;
    const map = { ...(next.metadata[field] ?? {}) };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete map[key];
      else map[key] = value;
    }
    next.metadata[field] = map;
  }
  // The API server gives every write a new version.
  next.metadata.resourceVersion = String(Number(next.metadata.resourceVersion) + 1);
  return next;
}

/** The pod as the webhook would have admitted it. */
function admitted(pod: LivePod, namespace = NAMESPACE, withPolicy = policy): LivePod {
  const ops = decodePatch(handleReview({ uid: 'u', namespace, object: pod }, withPolicy).response.patch) ?? [];
  return fastJsonPatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

function policyWith(edit: (text: string) => string): ReturnType<typeof loadPolicy> {
  const text = edit(POLICY_TEXT);
  expect(text).not.toBe(POLICY_TEXT);
  return loadPolicy(text, 'edited', 2);
}

describe('every admission fixture, running without the webhook, is brought to exactly what the webhook would have given it', () => {
  test.each(podCaseNames())('%s', (name) => {
    const { input, policy: casePolicy } = loadPodCase(name);
    const pod = runningPod(name);
    const namespace = input.request.namespace ?? NAMESPACE;
    const backfill = backfillFor(pod, namespace, casePolicy, NO_EXCLUDED_NAMESPACES);
    const patched = backfill ? applyMerge(pod, backfill.patch) : pod;
    const webhook = admitted(pod, namespace, casePolicy);
    expect(patched.metadata?.labels ?? {}).toEqual(webhook.metadata?.labels ?? {});
    expect(patched.metadata?.annotations ?? {}).toEqual(webhook.metadata?.annotations ?? {});
    // And once patched, there is nothing left to do.
    expect(backfillFor(patched, namespace, casePolicy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
});

test('a Wutong MySQL pod without annotations gets its FSB list, hooks and marker in one merge patch carrying its resourceVersion', () => {
  const backfill = backfillFor(runningPod('mysql-statefulset'), NAMESPACE, policy, NO_EXCLUDED_NAMESPACES);
  expect(backfill).toBeDefined();
  const { metadata } = backfill!.patch;
  expect(metadata.resourceVersion).toBe('4711');
  expect(metadata.labels).toBeUndefined(); // service_id was already there
  expect(metadata.annotations?.['backup.velero.io/backup-volumes']).toBe('manual4521');
  expect(metadata.annotations?.[`${PRE}container`]).toBe('gr3a9f1c');
  expect(metadata.annotations?.[`${PRE}timeout`]).toBe('30m');
  expect(typeof metadata.annotations?.[MANAGED_ANNOTATION]).toBe('string');
  // The user's annotation is not in the patch at all: a merge patch leaves what it does not name.
  expect(Object.keys(metadata.annotations ?? {})).not.toContain('wutong.io/last-upgrade');
  expect(Object.values(metadata.annotations ?? {})).not.toContain(null);
  expect(backfill!.updated).toEqual([]);
  expect(backfill!.removed).toEqual([]);
  expect(backfill!.added).toContain(`${PRE}command`);
  expect(describeBackfill(backfill!)).toMatch(/^Backfilled the webhook's labels and annotations: added backup\.velero\.io\/backup-volumes, .*pre\.hook\.backup\.velero\.io\/container/);
});

test('a pod an older webhook gave only the opt-out exclude list gets the include list this project\'s Backups read (defaultVolumesToFsBackup false), and keeps the excludes', () => {
  const { policy: optOut } = loadPodCase('fsb-opt-out');
  const EXCLUDES = 'mysql-cnf,tmp,kube-api-access-7x2kq,tls,podinfo,host-logs';
  const pod = runningPod('fsb-opt-out');
  // What the webhook wrote before it wrote include lists in opt-out mode: the excludes and its marker for them.
  const older = admitted(pod, NAMESPACE, optOut);
  const annotations = older.metadata!.annotations!;
  const marker = annotations[MANAGED_ANNOTATION]!;
  delete annotations['backup.velero.io/backup-volumes'];
  annotations[MANAGED_ANNOTATION] = marker.split(',').filter((entry) => !entry.startsWith('backup.velero.io/backup-volumes=')).join(',');
  expect(annotations['backup.velero.io/backup-volumes-excludes']).toBe(EXCLUDES);

  const backfill = backfillFor(older, NAMESPACE, optOut, NO_EXCLUDED_NAMESPACES);
  expect(backfill?.added).toEqual(['backup.velero.io/backup-volumes']);
  expect(backfill?.updated).toEqual([MANAGED_ANNOTATION]);
  const patched = applyMerge(older, backfill!.patch);
  expect(patched.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBe('manual4521');
  expect(patched.metadata?.annotations?.['backup.velero.io/backup-volumes-excludes']).toBe(EXCLUDES);
  expect(backfillFor(patched, NAMESPACE, optOut, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
});

test('a pod whose service_id only its env names gets the label', () => {
  const backfill = backfillFor(runningPod('service-id-from-env'), NAMESPACE, policy, NO_EXCLUDED_NAMESPACES);
  expect(Object.keys(backfill?.patch.metadata.labels ?? {})).toEqual(['service_id']);
  expect(backfill?.patch.metadata.labels?.service_id).toMatch(/^[0-9a-f]{32}$/);
  expect(backfill?.added).toContain('label service_id');
});

test('after a policy change, a pod the webhook admitted gets the new hook timeout and marker, nothing else', () => {
  const pod = admitted(runningPod('mysql-statefulset'));
  expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  const longer = policyWith((text) => text.replace('timeout: 30m', 'timeout: 2h'));

  const backfill = backfillFor(pod, NAMESPACE, longer, NO_EXCLUDED_NAMESPACES);
  expect(backfill?.patch.metadata.resourceVersion).toBe('4711');
  expect(backfill?.patch.metadata.labels).toBeUndefined();
  expect(Object.keys(backfill?.patch.metadata.annotations ?? {}).sort()).toEqual([MANAGED_ANNOTATION, `${PRE}timeout`]);
  expect(backfill?.patch.metadata.annotations?.[`${PRE}timeout`]).toBe('2h');
  expect(backfill?.updated).toEqual([`${PRE}timeout`, MANAGED_ANNOTATION]);
  const patched = applyMerge(pod, backfill!.patch);
  expect(patched.metadata?.annotations).toEqual(admitted(runningPod('mysql-statefulset'), NAMESPACE, longer).metadata?.annotations);
  expect(backfillFor(patched, NAMESPACE, longer, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
});

test('hooks of a rule the policy no longer has are removed (null), the FSB list and the user’s annotation stay', () => {
  const pod = admitted(runningPod('mysql-statefulset'));
  const noMysql = policyWith((text) => text.replace(/ {2}- name: mysql\n[\s\S]*?(?= {2}- name: postgresql)/, ''));
  const backfill = backfillFor(pod, NAMESPACE, noMysql, NO_EXCLUDED_NAMESPACES);
  const annotations = backfill?.patch.metadata.annotations ?? {};
  const hookKeys = Object.keys(pod.metadata?.annotations ?? {}).filter((k) => k.includes('.hook.'));
  expect(hookKeys.length).toBeGreaterThan(0);
  for (const key of hookKeys) expect(annotations[key]).toBeNull();
  expect(annotations).not.toHaveProperty(['backup.velero.io/backup-volumes']);
  expect(annotations).not.toHaveProperty(['wutong.io/last-upgrade']);
  const patched = applyMerge(pod, backfill!.patch);
  expect(patched.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBe('manual4521');
  expect(patched.metadata?.annotations?.['wutong.io/last-upgrade']).toBe('2024-03-11T10:30:15+08:00');
  expect(backfillFor(patched, NAMESPACE, noMysql, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
});

test("a hook value the user edited after admission is the user's: a policy change leaves that hook alone", () => {
  const pod = admitted(runningPod('mysql-statefulset'));
  pod.metadata!.annotations![`${PRE}timeout`] = '5m';
  const longer = policyWith((text) => text.replace('timeout: 30m', 'timeout: 2h'));
  const backfill = backfillFor(pod, NAMESPACE, longer, NO_EXCLUDED_NAMESPACES);
  const changed = Object.keys(backfill?.patch.metadata.annotations ?? {});
  expect(changed.filter((k) => k.startsWith(PRE))).toEqual([]);
  const patched = backfill ? applyMerge(pod, backfill.patch) : pod;
  expect(patched.metadata?.annotations?.[`${PRE}timeout`]).toBe('5m');
  expect(patched.metadata?.annotations?.[`${PRE}container`]).toBe('gr3a9f1c');
});

test("a pod with the user's own Velero annotations keeps every one of them", () => {
  const pod = runningPod('user-velero-annotations');
  const before = structuredClone(pod.metadata?.annotations ?? {});
  const backfill = backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES);
  for (const [key, value] of Object.entries(backfill?.patch.metadata.annotations ?? {})) {
    if (Object.hasOwn(before, key)) expect(value).toBe(before[key]);
  }
  const patched = backfill ? applyMerge(pod, backfill.patch) : pod;
  expect(patched.metadata?.annotations).toMatchObject(before);
});

describe('pods backfill leaves alone', () => {
  const needy = (): LivePod => runningPod('mysql-statefulset');
  test('a pod that needs a patch, as the baseline of the cases below', () => {
    expect(backfillFor(needy(), NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeDefined();
  });
  test('in an excluded namespace', () => {
    expect(backfillFor(needy(), 'kube-system', policy, new Set(['kube-system', 'wutong-backup']))).toBeUndefined();
  });
  test.each(['Pending', 'Succeeded', 'Failed', 'Unknown', undefined])('in phase %s', (phase) => {
    const pod = needy();
    pod.status = phase === undefined ? {} : { phase };
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('being deleted', () => {
    const pod = needy();
    pod.metadata!.deletionTimestamp = '2026-12-02T03:00:00Z';
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('without a resourceVersion (nothing to guard the write with)', () => {
    const pod = needy();
    delete pod.metadata!.resourceVersion;
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('opted out with backup.wutong.io/inject=false', () => {
    const pod = needy();
    pod.metadata!.labels!['backup.wutong.io/inject'] = 'false';
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('not selected by the policy (not a Wutong pod)', () => {
    const pod = needy();
    delete pod.metadata!.labels!.creator;
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('unreadable: an annotation that is not a string', () => {
    const pod = needy() as unknown as { metadata: { annotations: Record<string, unknown> } };
    pod.metadata.annotations.broken = 42;
    expect(backfillFor(pod, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
  test('not an object at all', () => {
    expect(backfillFor('pod', NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
    expect(backfillFor(null, NAMESPACE, policy, NO_EXCLUDED_NAMESPACES)).toBeUndefined();
  });
});
