import fastJsonPatch from 'fast-json-patch';
import { decodeReview, reviewResponse } from '../../../src/admission/admission-review.js';
import type { Pod } from '../../../src/admission/pod.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { decodePatch, loadPodCase, podCaseNames, type ExpectedReview } from '../../fixtures/pod-cases.js';

const { applyPatch } = fastJsonPatch;

/** The answer with its base64 patch decoded, in the shape expected.json is written in. */
function answer(name: string): { actual: ExpectedReview; expected: ExpectedReview; pod: Pod; patched: Pod } {
  const { input, expected, policy } = loadPodCase(name);
  const review = decodeReview(input);
  // The envelope as the transport answers it, so expected.json's apiVersion checks the version actually sent back.
  const envelope = reviewResponse(review.apiVersion, handleReview(review.request, policy).response);
  const { patch, ...rest } = envelope.response;
  const ops = decodePatch(patch);
  const actual: ExpectedReview = { ...envelope, response: ops === undefined ? rest : { ...rest, patch: ops } };
  const pod = input.request.object;
  // validate=true: an op the API server would reject (bad path, missing parent) throws here too.
  const patched = ops === undefined ? structuredClone(pod) : applyPatch(structuredClone(pod), ops, true, true).newDocument;
  return { actual, expected, pod, patched };
}

function withoutLabelsAndAnnotations(pod: Pod): Pod {
  const copy = structuredClone(pod);
  delete copy.metadata?.labels;
  delete copy.metadata?.annotations;
  return copy;
}

const REQUIRED_CASES = [
  'mysql-statefulset',
  'deployment-no-volumes',
  'non-wutong-pod',
  'user-velero-annotations',
  'host-path-volume',
  'missing-service-id',
  'service-id-from-namespaced-label',
  'service-id-from-env',
  'invalid-service-id',
  'opted-out',
  'postgresql-statefulset',
  'redis-statefulset',
  'mongodb-statefulset',
  'fsb-opt-out',
  'pvc-without-rule',
  'targeted-rule-missing-container',
  'escaped-annotation-keys',
  'no-annotations-map',
  'v1beta1-review',
];

test('every case the issue requires has a fixture folder', () => {
  expect(podCaseNames()).toEqual(expect.arrayContaining(REQUIRED_CASES));
});

describe.each(podCaseNames())('fixture %s', (name) => {
  test('answer equals expected.json exactly (patch ops, warnings, auditAnnotations, uid, apiVersion)', () => {
    const { actual, expected } = answer(name);
    expect(actual).toStrictEqual(expected);
  });

  test('the patch applies cleanly and only adds labels and annotations', () => {
    const { pod, patched } = answer(name);
    expect(withoutLabelsAndAnnotations(patched)).toEqual(withoutLabelsAndAnnotations(pod));
    for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) expect(patched.metadata?.labels?.[key]).toBe(value);
    for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {})) {
      expect(patched.metadata?.annotations?.[key]).toBe(value);
    }
  });

  test('answering the patched pod again adds nothing (reinvocation)', () => {
    const { input, policy } = loadPodCase(name);
    const { patched } = answer(name);
    const second = handleReview({ ...input.request, object: patched }, policy);
    expect(second.response.patch).toBeUndefined();
    expect(second.outcome).not.toBe('patched');
  });

  test('the request object is not modified', () => {
    const { input, policy } = loadPodCase(name);
    const before = structuredClone(input);
    handleReview(decodeReview(input).request, policy);
    expect(input).toEqual(before);
  });
});

describe('what the patched pods carry', () => {
  test('MySQL: hooks run in the mysql container, not the sidecar listed first', () => {
    const { pod, patched } = answer('mysql-statefulset');
    expect(pod.spec?.containers?.[0]?.name).toBe('wt-mesh');
    const annotations = patched.metadata?.annotations ?? {};
    expect(annotations['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
    const argv = JSON.parse(annotations['pre.hook.backup.velero.io/command'] ?? '[]') as string[];
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).toContain('out=/var/lib/mysql/.wutong-backup-mysql.sql');
    // The password is read from the container's env at run time, never copied into an annotation.
    expect(JSON.stringify(patched.metadata)).not.toContain('Wt-8f2c7a9d');
    expect(annotations['backup.velero.io/backup-volumes']).toBe('manual4521');
  });

  test('keys with "/" and "~" survive the patch: the user annotations are untouched, ours arrive unescaped', () => {
    const { pod, patched, actual } = answer('escaped-annotation-keys');
    const paths = (actual.response.patch ?? []).map((op) => op.path);
    expect(paths).toContain('/metadata/annotations/pre.hook.backup.velero.io~1command');
    expect(paths.every((p) => !p.includes('a~b') && !p.includes('path~1/etc'))).toBe(true);
    const annotations = patched.metadata?.annotations ?? {};
    expect(annotations['example.com/a~b']).toBe('tilde in key');
    expect(annotations['config.wutong.io/path~1/etc~0conf']).toBe('tilde and slash in key');
    expect(annotations['pre.hook.backup.velero.io/command']).toBeDefined();
    expect(Object.keys(annotations).filter((k) => k.includes('~1'))).toEqual(['config.wutong.io/path~1/etc~0conf']);
    // five Velero annotations plus the webhook's own bookkeeping (backup.wutong.io/managed)
    expect(Object.keys(annotations).length).toBe(Object.keys(pod.metadata?.annotations ?? {}).length + 6);
  });

  test('a pod with no annotations map gets the whole map in one op', () => {
    const { pod, actual } = answer('no-annotations-map');
    expect(pod.metadata).not.toHaveProperty('annotations');
    expect(actual.response.patch?.map((op) => [op.op, op.path])).toEqual([['add', '/metadata/annotations']]);
  });

  test("the user's own Velero annotations stay, and nothing is added in those groups", () => {
    const { pod, patched, actual } = answer('user-velero-annotations');
    expect(actual.response.patch).toBeUndefined();
    expect(patched.metadata?.annotations).toEqual(pod.metadata?.annotations);
  });
});
