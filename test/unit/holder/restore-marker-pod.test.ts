import { componentKey } from '../../../src/components/component-key.js';
import { holderPodName, HOLDER_COMMAND } from '../../../src/holder/holder-pod.js';
import { sweepDecision, type SweepInput } from '../../../src/holder/holder-sweep.js';
import { viewHolderPod } from '../../../src/holder/holder-view.js';
import { restoreMarkerPod } from '../../../src/holder/restore-marker-pod.js';

// The marker holder removes what Velero v1.11.1's node agent leaves in each restored volume
// (pkg/controller/pod_volume_restore_controller.go L301-312, as root) and its non-root restore-wait cannot
// (Dockerfile L77 USER nonroot:nonroot; cmd/velero-restore-helper/velero-restore-helper.go L83-104; velero#8973).

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const RESTORE = `${SID}-restore-20261207100000-beef`;
const pod = restoreMarkerPod({
  serviceId: SID,
  namespace: 'acme-prod',
  componentLabels: { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c', tenant_name: 'acme' },
  claims: [
    { name: 'manual1001-gr0a1b2c-0', uid: 'uid-1' },
    { name: 'manual1002-gr0a1b2c-0', uid: 'uid-2' },
  ],
  restoreName: RESTORE,
  image: 'registry.example/wutong-backup:0.1.0',
}) as {
  metadata: { name: string; annotations: Record<string, string>; labels: Record<string, string> };
  spec: { securityContext: Record<string, unknown>; automountServiceAccountToken: boolean; initContainers: Array<Record<string, unknown>>; containers: Array<Record<string, unknown>> };
};

test('a holder in every respect (name, hold container, PVC volumes only, no token), marked with its Restore and asking Velero to copy nothing', () => {
  expect(pod.metadata.name).toBe(holderPodName(SID));
  expect(pod.metadata.labels.creator).toBeUndefined();
  expect(pod.metadata.annotations).toEqual({ 'backup.wutong.io/clears-restore-markers': RESTORE });
  expect(pod.spec.automountServiceAccountToken).toBe(false);
  expect(pod.spec.containers.map((c) => [c.name, c.command])).toEqual([['hold', [...HOLDER_COMMAND]]]);
  expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
  const view = viewHolderPod({ ...pod, metadata: { ...pod.metadata, namespace: 'acme-prod', uid: 'u', creationTimestamp: '2026-12-07T10:05:00Z' }, status: { phase: 'Pending' } });
  expect(view).toMatchObject({ serviceId: SID, clearsRestoreMarkers: RESTORE, backupName: '', claims: ['manual1001-gr0a1b2c-0', 'manual1002-gr0a1b2c-0'] });
});

test('its init container removes <mount>/.velero of every claim, writable, as root with only CAP_DAC_OVERRIDE', () => {
  expect(pod.spec.initContainers).toEqual([
    expect.objectContaining({
      name: 'clear-restore-markers',
      image: 'registry.example/wutong-backup:0.1.0',
      command: ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'clear-restore-markers', '/data/manual1001-gr0a1b2c-0', '/data/manual1002-gr0a1b2c-0'],
      securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] } },
      volumeMounts: [
        { name: 'manual1001-gr0a1b2c-0', mountPath: '/data/manual1001-gr0a1b2c-0' },
        { name: 'manual1002-gr0a1b2c-0', mountPath: '/data/manual1002-gr0a1b2c-0' },
      ],
    }),
  ]);
  // The hold container stays as every holder's: read-only mounts.
  expect((pod.spec.containers[0]?.volumeMounts as Array<{ readOnly: boolean }>).every((m) => m.readOnly)).toBe(true);
});

test('the holder sweep leaves a marker holder to the restore loop, and ends one a crash left behind', () => {
  const view = viewHolderPod({ ...pod, metadata: { ...pod.metadata, namespace: 'acme-prod', uid: 'u', creationTimestamp: '2026-12-07T10:05:00Z' }, status: { phase: 'Running' } })!;
  const component = { key: componentKey('acme-prod', SID), serviceId: SID, namespace: 'acme-prod', ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0a1b2c' }, labels: {}, pods: [], runningPods: [], state: 'stopped' as const,
    claims: view.claims.map((name) => ({ kind: 'PersistentVolumeClaim' as const, namespace: 'acme-prod', name, uid: name, labels: {}, annotations: {}, resourceVersion: '1', phase: 'Bound', finalizers: [], accessModes: ['ReadWriteOnce'], creationTimestamp: '' })) };
  const input: SweepInput = { holder: view, backup: undefined, restore: undefined, component: component, now: new Date('2026-12-07T10:05:30Z'), backupGraceMs: 90_000, maxAgeMs: 6 * 3_600_000 };
  expect(sweepDecision(input)).toEqual({ remove: false, recheckAfterMs: 60_000 });
  expect(sweepDecision({ ...input, now: new Date('2026-12-07T10:07:00Z') })).toMatchObject({ remove: true, reason: 'orphaned', message: expect.stringContaining(`Restore ${RESTORE}'s markers`) as unknown });
});
