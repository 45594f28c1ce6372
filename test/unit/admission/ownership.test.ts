import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { MANAGED_ANNOTATION } from '../../../src/admission/ownership.js';
import type { Pod } from '../../../src/admission/pod.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';

// The marker is a plain annotation: kubectl get -o yaml, a Velero restore and
// `wutong-backup mutate` output carry it onto pods the webhook never saw, next
// to whatever the user changed. These cases are the ones a user meets.

const policy = loadDefaultPolicy();
const PRE = 'pre.hook.backup.velero.io/';
const VOLUMES = 'backup.velero.io/backup-volumes';

function mysqlPod(volume = 'data'): Pod {
  return {
    metadata: { name: 'mysql-0', labels: { creator: 'Wutong', service_id: '3a9f1c0e5b7d4e2f8a6c1b0d9e8f7a6b' } },
    spec: {
      containers: [
        { name: 'wt-mesh', image: 'wutong/mesh-agent:v5' },
        { name: 'gr3a9f1c', image: 'mysql:8.0', volumeMounts: [{ name: volume, mountPath: '/var/lib/mysql' }] },
      ],
      volumes: [{ name: volume, persistentVolumeClaim: { claimName: volume } }],
    },
  };
}

function review(pod: Pod): Operation[] {
  const { response } = handleReview({ uid: 'u', namespace: 'demo', object: pod }, policy);
  return response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as Operation[]) : [];
}

function admitted(pod: Pod): Pod {
  return fastJsonPatch.applyPatch(structuredClone(pod), review(pod), true, false).newDocument;
}

function annotationsOf(pod: Pod): Record<string, string> {
  return pod.metadata?.annotations ?? {};
}

function hookKeys(pod: Pod): Record<string, string> {
  return Object.fromEntries(Object.entries(annotationsOf(pod)).filter(([key]) => key.startsWith(PRE)));
}

/** A copy of an admitted pod's annotations (as `kubectl get -o yaml` shows them) put on `target`. */
function withCopiedAnnotations(target: Pod, from: Pod, edit: (a: Record<string, string>) => void = () => {}): Pod {
  const copy = structuredClone(target);
  const annotations = { ...annotationsOf(from) };
  edit(annotations);
  copy.metadata = { ...copy.metadata, annotations };
  return copy;
}

test('the marker names every key the webhook wrote, each with a digest of its value', () => {
  const pod = admitted(mysqlPod());
  const entries = (annotationsOf(pod)[MANAGED_ANNOTATION] ?? '').split(',');
  const written = Object.keys(annotationsOf(pod)).filter((key) => key !== MANAGED_ANNOTATION);
  expect(entries.map((e) => e.slice(0, e.lastIndexOf('=')))).toEqual(written);
  for (const entry of entries) expect(entry).toMatch(/=[\w-]{12}$/);
});

test("a key the user added under the webhook's hook prefix is never removed, and the webhook's hook stays whole", () => {
  const first = admitted(mysqlPod());
  const edited = withCopiedAnnotations(first, first, (a) => {
    a[`${PRE}timeout`] = a[`${PRE}timeout`] ?? '';
    a['pre.hook.backup.velero.io/extra'] = 'mine';
  });
  const after = admitted(edited);
  expect(annotationsOf(after)['pre.hook.backup.velero.io/extra']).toBe('mine');
  expect(hookKeys(after)).toEqual(hookKeys(edited));
});

test("a hook value the user edited stays the user's, with the rest of that hook left as it is", () => {
  // (The profile's restore hook, which imports the dump the webhook's pre hook
  // wrote, is the webhook's own and goes with it: a profile's hooks only work together.)
  const first = admitted(mysqlPod());
  const edited = withCopiedAnnotations(first, first, (a) => {
    a[`${PRE}timeout`] = '3h';
  });
  const after = admitted(edited);
  expect(hookKeys(after)).toEqual(hookKeys(edited));
  expect(annotationsOf(after)[`${PRE}timeout`]).toBe('3h');
  // No longer vouched for: the next pass must not take the user's hook back either.
  expect(annotationsOf(after)[MANAGED_ANNOTATION]).not.toContain(PRE);
  expect(review(after)).toEqual([]);
});

test("a key of the webhook's hook that the user deleted is not written back", () => {
  const first = admitted(mysqlPod());
  const edited = withCopiedAnnotations(first, first, (a) => {
    delete a[`${PRE}on-error`];
  });
  expect(hookKeys(admitted(edited))).toEqual(hookKeys(edited));
});

test("a marker copied onto a pod whose user wrote their own values for those keys vouches for none of them", () => {
  const first = admitted(mysqlPod());
  const own = withCopiedAnnotations(mysqlPod(), first, (a) => {
    for (const key of Object.keys(a)) if (key !== MANAGED_ANNOTATION) a[key] = `user-${key}`;
  });
  const after = admitted(own);
  for (const [key, value] of Object.entries(annotationsOf(own))) {
    if (key !== MANAGED_ANNOTATION) expect(annotationsOf(after)[key]).toBe(value);
  }
});

test('the webhook output copied with its marker onto another pod is redone for that pod', () => {
  // mutate output (or a restored pod) applied as a pod whose volume is called differently.
  const first = admitted(mysqlPod('data'));
  const copied = withCopiedAnnotations(mysqlPod('state'), first);
  const after = admitted(copied);
  expect(annotationsOf(after)[VOLUMES]).toBe('state');
  expect(admitted(mysqlPod('state'))).toEqual(after);
});

test("an older marker (\"fsb,pre-backup\") vouches for nothing: every key stays as it is", () => {
  const first = admitted(mysqlPod());
  const legacy = withCopiedAnnotations(mysqlPod('state'), first, (a) => {
    a[MANAGED_ANNOTATION] = 'fsb,pre-backup,post-restore';
    a[`${PRE}timeout`] = '4h';
  });
  const after = admitted(legacy);
  for (const [key, value] of Object.entries(annotationsOf(legacy))) {
    if (key !== MANAGED_ANNOTATION) expect(annotationsOf(after)[key]).toBe(value);
  }
});
