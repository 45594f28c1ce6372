import { holderPod, holderPodName, holderVolumeName, HOLDER_COMMAND } from '../../../src/holder/holder-pod.js';
import { viewHolderPod } from '../../../src/holder/holder-view.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const pvcLabels = {
  creator: 'Wutong',
  service_id: SID,
  service_alias: 'gr0a1b2c',
  tenant_id: 't1',
  tenant_name: 'acme',
  tenant_env_id: 'e1',
  tenant_env_name: 'prod',
  app_id: 'app1',
  volume_name: 'data',
  reclaim_policy: 'Retain',
};
const input = {
  serviceId: SID,
  namespace: 'acme-prod',
  componentLabels: pvcLabels,
  claims: [
    { name: 'manual1001-gr0a1b2c-0', uid: 'uid-1' },
    { name: 'manual1002-gr0a1b2c-0', uid: 'uid-2' },
  ],
  backupName: `${SID}-backup-20261202080000-abcd`,
  image: 'registry.example/wutong-backup:0.1.0',
};

interface PodShape {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: unknown[] };
  spec: {
    restartPolicy: string;
    terminationGracePeriodSeconds: number;
    automountServiceAccountToken: boolean;
    securityContext: Record<string, unknown>;
    containers: Array<{ image: string; command: string[]; securityContext: Record<string, unknown>; resources: { requests: Record<string, string>; limits: Record<string, string> }; volumeMounts: unknown[] }>;
    volumes: unknown[];
  };
}
const pod = holderPod(input) as unknown as PodShape;

test('one name per component: a second holder is an AlreadyExists, not a second pod', () => {
  expect(pod.metadata.name).toBe(`wutong-backup-holder-${SID}`);
  expect(holderPodName(SID)).toBe(pod.metadata.name);
  expect(pod.metadata.namespace).toBe('acme-prod');
});

test('labels: service_id and the other Wutong labels so the Backup selects it, but never creator (webhook, component watch and API lookup select creator=Wutong)', () => {
  expect(pod.metadata.labels).toEqual({
    service_id: SID,
    service_alias: 'gr0a1b2c',
    tenant_id: 't1',
    tenant_name: 'acme',
    tenant_env_id: 'e1',
    tenant_env_name: 'prod',
    app_id: 'app1',
    'backup.wutong.io/holder': SID,
    'app.kubernetes.io/name': 'wutong-backup',
    'app.kubernetes.io/component': 'holder',
  });
});

test('FSB copies exactly its PVC volumes; it names the Backup it serves; it is owned by every PVC it mounts (GC removes it with them)', () => {
  expect(pod.metadata.annotations).toEqual({
    'backup.velero.io/backup-volumes': 'manual1001-gr0a1b2c-0,manual1002-gr0a1b2c-0',
    'backup.wutong.io/holder-backup': input.backupName,
  });
  expect(pod.metadata.ownerReferences).toEqual([
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'manual1001-gr0a1b2c-0', uid: 'uid-1' },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'manual1002-gr0a1b2c-0', uid: 'uid-2' },
  ]);
  expect(pod.spec.volumes).toEqual([
    { name: 'manual1001-gr0a1b2c-0', persistentVolumeClaim: { claimName: 'manual1001-gr0a1b2c-0' } },
    { name: 'manual1002-gr0a1b2c-0', persistentVolumeClaim: { claimName: 'manual1002-gr0a1b2c-0' } },
  ]);
  expect(pod.spec.containers[0]?.volumeMounts).toEqual([
    { name: 'manual1001-gr0a1b2c-0', mountPath: '/data/manual1001-gr0a1b2c-0', readOnly: true },
    { name: 'manual1002-gr0a1b2c-0', mountPath: '/data/manual1002-gr0a1b2c-0', readOnly: true },
  ]);
});

test('locked down: non-root fixed uid, read-only root, no capabilities, RuntimeDefault seccomp, no token, tiny resources, never restarted, short grace, runs hold', () => {
  expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
  expect(pod.spec.securityContext).not.toHaveProperty('fsGroup');
  const [container] = pod.spec.containers;
  expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  expect(container?.resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '64Mi' } });
  expect(container?.image).toBe(input.image);
  expect(container?.command).toEqual([...HOLDER_COMMAND]);
  expect(container?.command.slice(-1)).toEqual(['hold']);
  expect(pod.spec.automountServiceAccountToken).toBe(false);
  expect(pod.spec.restartPolicy).toBe('Never');
  expect(pod.spec.terminationGracePeriodSeconds).toBeLessThanOrEqual(10);
});

test('a claim name that is no DNS label gets a stable volume name; no claim at all is refused', () => {
  const long = `data-${'x'.repeat(70)}`;
  expect(holderVolumeName('manual1001-a-0')).toBe('manual1001-a-0');
  expect(holderVolumeName(long)).toMatch(/^claim-[0-9a-f]{12}$/);
  expect(holderVolumeName(long)).toBe(holderVolumeName(long));
  expect(() => holderPod({ ...input, claims: [] })).toThrow(/no live PVC/);
});

test('the view reads back what the builder wrote, and says why a pod is not running', () => {
  const view = viewHolderPod({
    ...pod,
    metadata: { ...pod.metadata, uid: 'pod-uid', creationTimestamp: '2026-12-02T08:00:00Z' },
    status: { phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] },
  });
  expect(view).toEqual({
    namespace: 'acme-prod',
    name: `wutong-backup-holder-${SID}`,
    uid: 'pod-uid',
    creationTimestamp: '2026-12-02T08:00:00Z',
    serviceId: SID,
    backupName: input.backupName,
    phase: 'Pending',
    waiting: 'ImagePullBackOff: Back-off pulling image',
    claims: ['manual1001-gr0a1b2c-0', 'manual1002-gr0a1b2c-0'],
  });
  expect(viewHolderPod({ metadata: { name: 'x', labels: { creator: 'Wutong' } } })).toBeUndefined();
});

test('a pod carrying the holder label but not shaped as this project makes holders is no holder (the sweep never deletes it)', () => {
  const spec = pod.spec as { containers: Array<Record<string, unknown>>; volumes: unknown[] };
  const forgeries: unknown[] = [
    { ...pod, metadata: { ...pod.metadata, name: 'my-own-pod' } },
    { ...pod, spec: { ...spec, containers: [{ ...spec.containers[0], command: ['sh', '-c', 'sleep 1d'] }] } },
    { ...pod, spec: { ...spec, containers: [...spec.containers, { name: 'app', image: 'nginx' }] } },
    { ...pod, spec: { ...spec, automountServiceAccountToken: true } },
    { ...pod, spec: { ...spec, volumes: [...spec.volumes, { name: 'host', hostPath: { path: '/' } }] } },
  ];
  for (const forged of forgeries) expect(viewHolderPod(forged)).toBeUndefined();
  // Velero's restore of a holder adds its restore-wait init container: still a holder.
  expect(viewHolderPod({ ...pod, spec: { ...spec, initContainers: [{ name: 'restore-wait', image: 'velero/velero-restore-helper' }] } })?.name).toBe(`wutong-backup-holder-${SID}`);
  expect(viewHolderPod({ ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } })?.waiting).toBe(
    'Unschedulable: 0/3 nodes are available',
  );
});
