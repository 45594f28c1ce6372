import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { Pod } from '../../../src/admission/pod.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';

// Velero's legacy backup hook keys, without a phase (hook.backup.velero.io/command, …): vmware-tanzu/velero
// v1.11.1 internal/hook/item_hook_handler.go HandleHooks L214-219 runs them as the pre hook only while
// pre.hook.backup.velero.io/command is absent. A pod carrying them has its own pre-backup hook; the webhook
// writing pre.* keys next to them would replace it without a word.

const policy = loadDefaultPolicy();
const LEGACY = 'hook.backup.velero.io/';
const PRE = 'pre.hook.backup.velero.io/';
const SID = '3a9f1c0e5b7d4e2f8a6c1b0d9e8f7a6b';

function mysqlPod(annotations: Record<string, string>): Pod {
  return {
    metadata: { name: 'mysql-0', labels: { creator: 'Wutong', service_id: SID }, annotations },
    spec: {
      containers: [
        { name: 'wt-mesh', image: 'wutong/mesh-agent:v5' },
        { name: 'gr3a9f1c', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  };
}

const userLegacyHook = {
  [`${LEGACY}container`]: 'gr3a9f1c',
  [`${LEGACY}command`]: '["/bin/sh","-c","my-own-dump.sh"]',
  [`${LEGACY}timeout`]: '10m',
};

function admit(pod: Pod, p = policy): { pod: Pod; warnings: string[] } {
  const { response } = handleReview({ uid: 'u', namespace: 'demo', object: pod }, p);
  const ops = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as Operation[]) : [];
  return { pod: fastJsonPatch.applyPatch(structuredClone(pod), ops, true, false).newDocument, warnings: response.warnings ?? [] };
}

const keysUnder = (pod: Pod, prefix: string): Record<string, string> =>
  Object.fromEntries(Object.entries(pod.metadata?.annotations ?? {}).filter(([key]) => key.startsWith(prefix)));

test('a pod with legacy hook keys keeps them as its pre-backup hook: no pre.* keys are written, and the warning says whose hook runs', () => {
  const { pod, warnings } = admit(mysqlPod(userLegacyHook));
  expect(keysUnder(pod, LEGACY)).toEqual(userLegacyHook);
  expect(keysUnder(pod, PRE)).toEqual({});
  // The mysql profile's hooks only work together (its restore hook imports the dump its pre hook writes): none is added.
  expect(keysUnder(pod, 'post.hook.restore.velero.io/')).toEqual({});
  expect(warnings).toContainEqual(expect.stringContaining(`the pod's own pre-backup hook in Velero's legacy keys ${LEGACY}* is kept: rule "mysql" adds no ${PRE}* keys`));
  // The pod still gets the volume list: the user's hook dumps into a volume that must be copied.
  expect(pod.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBe('data');
  // No "crash-consistent only" warning: the pod has a backup hook.
  expect(warnings.some((w) => w.includes('crash-consistent'))).toBe(false);
});

test('a pod admitted before with our pre.* keys over its legacy ones (a restored copy): ours are taken back, so the legacy hook runs again', () => {
  // What an older webhook wrote next to the legacy keys: the profile's keys, listed in the marker.
  const before = admit(mysqlPod({})).pod;
  const carried = mysqlPod({ ...before.metadata?.annotations, ...userLegacyHook });
  const { pod } = admit(carried);
  expect(keysUnder(pod, PRE)).toEqual({});
  expect(keysUnder(pod, LEGACY)).toEqual(userLegacyHook);
});

test('a rule without a profile still adds its other hooks; only the pre-backup one is the pod\'s', () => {
  const custom = loadPolicy(
    [
      'apiVersion: backup.wutong.io/v1alpha1',
      'kind: HookPolicy',
      'podSelector: { matchLabels: { creator: Wutong } }',
      'rules:',
      '  - name: app',
      '    match: { containers: [gr3a9f1c] }',
      '    backup:',
      '      pre: { command: [ours-pre], onError: Fail }',
      '      post: { command: [ours-post], onError: Continue }',
    ].join('\n'),
    'test',
    1,
  );
  const { pod, warnings } = admit(mysqlPod(userLegacyHook), custom);
  expect(keysUnder(pod, PRE)).toEqual({});
  expect(keysUnder(pod, 'post.hook.backup.velero.io/')).toEqual({
    'post.hook.backup.velero.io/container': 'gr3a9f1c',
    'post.hook.backup.velero.io/command': '["ours-post"]',
    'post.hook.backup.velero.io/on-error': 'Continue',
  });
  expect(warnings).toContainEqual(expect.stringContaining('rule "app" adds no pre.hook.backup.velero.io/* keys'));
});

test('legacy keys next to the user\'s own pre.* command: Velero never runs them, and the warning says so', () => {
  const { pod, warnings } = admit(mysqlPod({ ...userLegacyHook, [`${PRE}command`]: '["their-pre"]' }));
  expect(keysUnder(pod, PRE)).toEqual({ [`${PRE}command`]: '["their-pre"]' });
  expect(warnings).toContainEqual(`wutong-backup: Velero never runs this pod's legacy ${LEGACY}* keys: it uses them only when ${PRE}command is absent, and the pod has one`);
});
