import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { MANAGED_ANNOTATION } from '../../../src/admission/ownership.js';
import type { Pod } from '../../../src/admission/pod.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';

const policy = loadDefaultPolicy();

function mysqlPod(): Pod {
  return {
    metadata: { name: 'mysql-0', labels: { creator: 'Wutong', service_id: '3a9f1c0e5b7d4e2f8a6c1b0d9e8f7a6b' } },
    spec: {
      containers: [
        { name: 'wt-mesh', image: 'wutong/mesh-agent:v5' },
        { name: 'gr3a9f1c', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  };
}

function review(pod: Pod): Operation[] {
  const { response } = handleReview({ uid: 'u', namespace: 'demo', object: pod }, policy);
  return response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as Operation[]) : [];
}

function apply(pod: Pod, ops: Operation[]): Pod {
  return fastJsonPatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

/** The keys the pod's marker says the webhook wrote. */
function managedKeys(pod: Pod): string[] {
  const marker = pod.metadata?.annotations?.[MANAGED_ANNOTATION];
  return marker ? marker.split(',').map((entry) => entry.slice(0, entry.lastIndexOf('='))) : [];
}

test('called again after another webhook added a PVC, the webhook brings its own volume list up to date', () => {
  const first = apply(mysqlPod(), review(mysqlPod()));
  expect(managedKeys(first)).toContain('backup.velero.io/backup-volumes');
  const withCache = structuredClone(first);
  withCache.spec!.volumes!.push({ name: 'cache', persistentVolumeClaim: { claimName: 'cache' } });

  const ops = review(withCache);
  // The list, and the marker's digest of it: nothing else.
  expect(ops.map((op) => op.path).sort()).toEqual([
    '/metadata/annotations/backup.velero.io~1backup-volumes',
    '/metadata/annotations/backup.wutong.io~1managed',
  ]);
  expect(ops).toContainEqual({ op: 'replace', path: '/metadata/annotations/backup.velero.io~1backup-volumes', value: 'data,cache' });
});

test('its own output, reviewed again, yields no patch', () => {
  const first = apply(mysqlPod(), review(mysqlPod()));
  expect(review(first)).toEqual([]);
});

test("a user's backup-volumes annotation is never rewritten, even when volumes are added later", () => {
  const pod = mysqlPod();
  pod.metadata!.annotations = { 'backup.velero.io/backup-volumes': 'data' };
  pod.spec!.volumes!.push({ name: 'cache', persistentVolumeClaim: { claimName: 'cache' } });
  const ops = review(pod);
  expect(ops.some((op) => op.path.includes('backup-volumes'))).toBe(false);
  expect(managedKeys(apply(pod, ops))).not.toContain('backup.velero.io/backup-volumes');
});

test('hooks the webhook wrote for a container that another webhook then replaced are taken back', () => {
  const first = apply(mysqlPod(), review(mysqlPod()));
  const changed = structuredClone(first);
  changed.spec!.containers![1]!.image = 'nginx:1.25';
  const after = apply(changed, review(changed));
  const keys = Object.keys(after.metadata?.annotations ?? {});
  expect(keys.filter((k) => k.startsWith('pre.hook.backup.velero.io/'))).toEqual([]);
  expect(after.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBe('data');
  expect(managedKeys(after)).toEqual(['backup.velero.io/backup-volumes']);
});
