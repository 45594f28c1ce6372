import { BadReviewError, decodeReview } from '../../../src/admission/admission-review.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { namespaceTag } from '../../../src/velero/object-names.js';
import { loadFixturePolicy, loadPodCase } from '../../fixtures/pod-cases.js';

const policy = loadFixturePolicy();
const mysqlPod = (): unknown => loadPodCase('mysql-statefulset').input.request.object;

describe('handleReview: which requests are handled', () => {
  test.each([
    ['a Deployment', { group: 'apps', version: 'v1', kind: 'Deployment' }],
    ['a core non-pod kind', { group: '', version: 'v1', kind: 'ConfigMap' }],
  ])('%s is allowed unchanged', (_what, kind) => {
    const result = handleReview({ uid: 'u1', kind, object: mysqlPod() }, policy);
    expect(result.response).toEqual({ uid: 'u1', allowed: true });
    expect(result.outcome).toBe('skipped');
  });

  test('a DELETE (object null) is allowed unchanged', () => {
    const result = handleReview({ uid: 'u2', operation: 'DELETE', kind: { group: '', version: 'v1', kind: 'Pod' }, object: null }, policy);
    expect(result).toMatchObject({ outcome: 'skipped', response: { uid: 'u2', allowed: true } });
  });

  test('a request without kind is treated as a pod', () => {
    expect(handleReview({ uid: 'u3', object: mysqlPod() }, policy).outcome).toBe('patched');
  });

  test('the namespace falls back to the pod metadata when the request has none', () => {
    const text = [
      'apiVersion: backup.wutong.io/v1alpha1',
      'kind: HookPolicy',
      'rules:',
      '  - name: only-in-ns',
      '    match: { namespaces: [8c2d4e6f0a1b4c3d9e8f7a6b5c4d3e2f], containers: [gr3a9f1c] }',
      '    backup: { pre: { command: [/bin/true] } }',
    ].join('\n');
    const nsPolicy = loadPolicy(text, 'test', 1);
    const result = handleReview({ uid: 'u4', object: mysqlPod() }, nsPolicy);
    expect(result.response.auditAnnotations?.rule).toBe('only-in-ns');
    const elsewhere = handleReview({ uid: 'u5', namespace: 'other', object: mysqlPod() }, nsPolicy);
    expect(elsewhere.response.auditAnnotations?.rule).toBeUndefined();
  });

  test.each([
    ['metadata is a string', { metadata: 'x' }, 'metadata is not an object'],
    ['annotations is a string', { metadata: { labels: { creator: 'Wutong' }, annotations: 'x' } }, 'metadata.annotations is not an object'],
    ['a label value is a number', { metadata: { labels: { creator: 'Wutong', n: 1 } } }, 'metadata.labels["n"] is not a string'],
    ['containers is a number', { metadata: { labels: { creator: 'Wutong' } }, spec: { containers: 5 } }, 'spec.containers is not an array'],
    ['a container is null', { spec: { containers: [null] } }, 'spec.containers[0] is not an object'],
    ['a volume is null', { spec: { volumes: [null] } }, 'spec.volumes[0] is not an object'],
    ['a mountPath is a number', { spec: { containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: 7 }] }] } }, 'spec.containers[0].volumeMounts[0].mountPath is not a string'],
    ['an env value is an array', { spec: { containers: [{ name: 'c', env: [{ name: 'SERVICE_ID', value: ['x'] }] }] } }, 'spec.containers[0].env[0].value is not a string'],
  ])('a malformed pod (%s) is allowed unchanged, saying what is wrong', (_what, object, problem) => {
    const result = handleReview({ uid: 'bad', object }, policy);
    expect(result.response).toEqual({ uid: 'bad', allowed: true });
    expect(result.outcome).toBe('skipped');
    expect(result.skipReason).toBe(`malformed pod: ${problem}`);
  });

  test('outcome is "unchanged" for a Wutong pod that needs nothing', () => {
    const result = handleReview(decodeReview(loadPodCase('deployment-no-volumes').input).request, policy);
    expect(result.outcome).toBe('unchanged');
    expect(result.added).toEqual({ labels: 0, fsb: 0, hooks: 0 });
  });

  test('counts what it added', () => {
    const result = handleReview(decodeReview(loadPodCase('service-id-from-env').input).request, policy);
    expect(result.added).toEqual({ labels: 1, fsb: 1, hooks: 4 });
    expect(result.warnings).toEqual([]);
  });

  test('warnings carry a reason for metrics and the message with a prefix for kubectl', () => {
    const result = handleReview(decodeReview(loadPodCase('host-path-volume').input).request, policy);
    expect(result.warnings.map((w) => w.reason)).toEqual(['host-path-volume', 'crash-consistent-only']);
    expect(result.response.warnings?.every((w) => w.startsWith('wutong-backup: '))).toBe(true);
  });
});

describe('decodeReview: the envelope', () => {
  test.each([
    ['an array', [], 'body is not a JSON object'],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, 'kind is not AdmissionReview'],
    ['an unknown version', { apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: { uid: 'u' } }, 'apiVersion "admission.k8s.io/v2" is not one of admission.k8s.io/v1, admission.k8s.io/v1beta1'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request is missing'],
    ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, 'request.uid is missing'],
    ['an empty uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, 'request.uid is missing'],
  ])('rejects %s', (_what, body, message) => {
    expect(() => decodeReview(body)).toThrow(new BadReviewError(message));
  });
});

describe('handleReview: workload UPDATEs (the upgrade hold)', () => {
  const SID = '0123456789abcdef0123456789abcdef';
  const holdPolicy = loadPolicy(
    ['apiVersion: backup.wutong.io/v1alpha1', 'kind: HookPolicy', 'rules:', '  - name: db', '    profile: mysql', '    protection: { schedule: "@daily", backupBeforeUpgrade: true }'].join('\n'),
    'test',
    1,
  );
  const labels = { creator: 'Wutong', service_id: SID };
  const sts = (image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop', labels },
    spec: {
      replicas: 1,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'mysql', image }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' } }],
    },
  });
  const update = (kind = 'StatefulSet', operation = 'UPDATE') => ({
    uid: 'w1',
    kind: { group: 'apps', version: 'v1', kind },
    namespace: 'shop',
    name: 'db',
    operation,
    oldObject: sts('mysql:8.0.36'),
    object: sts('mysql:8.0.37'),
  });
  const NOW = new Date('2026-12-02T08:00:00Z');

  test('an image change is held: a JSON patch, a warning kubectl prints, an audit annotation', () => {
    const result = handleReview(update(), holdPolicy, undefined, NOW);
    expect(result.outcome).toBe('patched');
    const ops = JSON.parse(Buffer.from(result.response.patch ?? '', 'base64').toString()) as Array<{ path: string }>;
    expect(ops.map((o) => o.path)).toEqual(['/metadata/annotations', '/spec/updateStrategy/rollingUpdate/partition']);
    expect(result.response.warnings).toEqual([
      `wutong-backup: held rollout of StatefulSet shop/db for Backup ${SID}-${namespaceTag('shop')}-upgrade-20261202080000 (image mysql:8.0.36 → mysql:8.0.37); it proceeds once the backup has completed`,
    ]);
    expect(result.response.auditAnnotations).toEqual({ 'upgrade-hold': `held for Backup ${SID}-${namespaceTag('shop')}-upgrade-20261202080000: image mysql:8.0.36 → mysql:8.0.37` });
  });

  test.each([
    ['a CREATE', update('StatefulSet', 'CREATE')],
    ['a DaemonSet', update('DaemonSet')],
    ['an excluded namespace', { ...update(), namespace: 'kube-system' }],
    ['a malformed old object', { ...update(), oldObject: { spec: { template: 'x' } } }],
  ])('%s is allowed untouched', (_what, request) => {
    const result = handleReview(request, holdPolicy, new Set(['kube-system']), NOW);
    expect(result.response).toEqual({ uid: 'w1', allowed: true });
    expect(result.outcome).toBe('skipped');
  });
});
