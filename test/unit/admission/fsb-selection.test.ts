import { mutatePod } from '../../../src/admission/mutate-pod.js';
import type { Pod, Volume } from '../../../src/admission/pod.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { selectFsbVolumes, veleroOptOutVolumes } from '../../../src/admission/volumes.js';

// One volume of every kind a Wutong pod carries, and a non-persistent one Velero's own opt-out would copy.
const VOLUMES: Volume[] = [
  { name: 'data', persistentVolumeClaim: { claimName: 'manual1-db-0' } },
  { name: 'tmp', emptyDir: {} },
  { name: 'cfg', configMap: { name: 'c' } },
  { name: 'creds', secret: { secretName: 's' } },
  { name: 'kube-api-access-x', projected: { sources: [] } },
  { name: 'podinfo', downwardAPI: { items: [] } },
  { name: 'host-logs', hostPath: { path: '/var/log' } },
  { name: 'scratch', ephemeral: { volumeClaimTemplate: {} } },
  { name: 'default-token-abc', secret: { secretName: 't' } },
  { name: 'nfs-share', nfs: { server: 'n', path: '/' } },
];

describe("Velero v1.11.1 opt-out selection (pkg/podvolume/util.go GetVolumesByPod L257-296, defaultVolumesToFsBackup true)", () => {
  test('skips hostPath, secret, configMap, projected, downwardAPI, default-token* and the excluded names; copies the rest, emptyDir and ephemeral included', () => {
    expect(veleroOptOutVolumes(VOLUMES, [])).toEqual(['data', 'tmp', 'scratch', 'nfs-share']);
    expect(veleroOptOutVolumes(VOLUMES, ['tmp', 'nfs-share'])).toEqual(['data', 'scratch']);
  });
});

describe('the include list the webhook writes: what Backups with defaultVolumesToFsBackup false copy', () => {
  test('opt-in: the PVCs; emptyDirs only with includeEmptyDir; no exclude list', () => {
    expect(selectFsbVolumes(VOLUMES, 'opt-in', false)).toEqual({ include: ['data'], exclude: undefined });
    expect(selectFsbVolumes(VOLUMES, 'opt-in', true)).toEqual({ include: ['data', 'tmp'], exclude: undefined });
  });

  test('opt-out: exactly what Velero\'s own opt-out copies given the exclude list written next to it', () => {
    for (const includeEmptyDir of [false, true]) {
      const { include, exclude } = selectFsbVolumes(VOLUMES, 'opt-out', includeEmptyDir);
      expect(include).toEqual(veleroOptOutVolumes(VOLUMES, exclude ?? []));
    }
    expect(selectFsbVolumes(VOLUMES, 'opt-out', false).include).toEqual(['data', 'nfs-share']);
    expect(selectFsbVolumes(VOLUMES, 'opt-out', true).include).toEqual(['data', 'tmp', 'nfs-share']);
  });

  test("the pod's own excludes are never on the include list, in either mode", () => {
    expect(selectFsbVolumes(VOLUMES, 'opt-in', true, ['data']).include).toEqual(['tmp']);
    expect(selectFsbVolumes(VOLUMES, 'opt-out', false, ['nfs-share']).include).toEqual(['data']);
  });
});

describe("a pod's own exclude list next to the include list the webhook writes", () => {
  const policy = loadPolicy('apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\nfileSystemBackup: { mode: opt-out }\n', 'test', 1);
  const pod = (annotations: Record<string, string>): Pod => ({
    metadata: { name: 'p', labels: { creator: 'Wutong', service_id: '5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7' }, annotations },
    spec: { containers: [{ name: 'c', volumeMounts: [] }], volumes: VOLUMES },
  });

  test('is kept as the user wrote it, honoured by the include list, and a second pass changes nothing', () => {
    const first = mutatePod(pod({ 'backup.velero.io/backup-volumes-excludes': 'nfs-share' }), policy, 'ns');
    if (!first.handled) throw new Error('not handled');
    expect(first.annotations['backup.velero.io/backup-volumes-excludes']).toBe('nfs-share');
    expect(first.annotations['backup.velero.io/backup-volumes']).toBe('data');
    const second = mutatePod(pod(first.annotations), policy, 'ns');
    expect(second.handled && second.annotations).toEqual(first.annotations);
  });

  test("a pod's own include list decides alone: nothing is written next to it", () => {
    const mutation = mutatePod(pod({ 'backup.velero.io/backup-volumes': 'tmp' }), policy, 'ns');
    expect(mutation.handled && mutation.annotations).toEqual({ 'backup.velero.io/backup-volumes': 'tmp' });
  });
});
