import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { downloadRequestLoop, type DownloadRequestDeps } from '../../../src/controller/download-request-loop.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import { archiveTokenDigest } from '../../../src/download/archive-token.js';
import { DOWNLOAD_HOLDER_NAME } from '../../../src/download/download-holder-pod.js';
import { DownloadRequestIndex } from '../../../src/download/download-request-index.js';
import { downloadRequestObject, readDownloadRequest, SCRATCH_NAMESPACE_LABEL } from '../../../src/download/download-request.js';
import type { DownloadScratch, ScratchNamespace, ScratchPodState } from '../../../src/kube/download-scratch.js';
import type { PolicyStore } from '../../../src/policy/policy-store.js';
import type { RecordWrite } from '../../../src/request-record-ports.js';
import { DOWNLOAD_HOLD_CONTAINER } from '../../../src/velero/download-restore.js';
import { VELERO_LABEL } from '../../../src/velero/velero-labels.js';
import type { VeleroCache } from '../../../src/velero/velero-ports.js';
import type { VeleroObject } from '../../../src/velero/velero-resources.js';
import type { BackupView, PodVolumeBackupView, RestoreView, ViewMeta } from '../../../src/velero/velero-views.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

// The loop over in-memory fakes of the API server's objects: each reconcile
// does one step and writes it; a resync decides again from what is there.

const NS = 'acme-prod';
const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SCRATCH = 'wutong-backup-dl-0f3a9c';
const RECORD = `download-${SID}`;
const IMAGE = 'registry.example/wutong-backup:0.1.0';
const NOW = new Date('2026-12-07T18:00:00Z');
const meta = (name: string, labels: Record<string, string> = {}): ViewMeta => ({ name, namespace: 'velero', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: NOW.toISOString(), labels, annotations: {} });

class Fakes {
  readonly calls: string[] = [];
  readonly index = new DownloadRequestIndex();
  raw: Record<string, unknown> | undefined;
  version = 1;
  readonly namespaces = new Map<string, ScratchNamespace>();
  readonly pods = new Map<string, ScratchPodState>();
  readonly secrets = new Map<string, Record<string, unknown>>();
  readonly restores = new Map<string, RestoreView>();
  restoreVolumes: PodVolumeBackupView[] = [];
  readonly backup: BackupView = { metadata: meta('b1', { [VELERO_LABEL.serviceId]: SID }), spec: { includedNamespaces: [NS] }, status: { phase: 'Completed' } };
  readonly backupVolumes: PodVolumeBackupView[] = [{ metadata: meta('pvb-1'), spec: { volume: 'data', pod: { name: 'db-0', namespace: NS }, claimName: 'data-db-0' }, status: { phase: 'Completed' } }];

  record(): void {
    const object = downloadRequestObject({
      component: { namespace: NS, serviceId: SID, serviceAlias: 'gr3f2a-db' },
      backupName: 'b1',
      operator: 'alice',
      scratchNamespace: SCRATCH,
      tokenDigest: archiveTokenDigest('token'),
      requestedAt: NOW.toISOString(),
      expiresAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
    });
    this.raw = { ...object, metadata: { ...(object.metadata as object), uid: 'r1', resourceVersion: String(this.version) } };
    this.index.markSynced();
    this.index.upsert(readDownloadRequest(this.raw)!);
  }

  removeRecord(): void {
    this.raw = undefined;
    this.index.remove(RECORD);
  }

  scratch(): DownloadScratch {
    const created = (what: string, present: boolean): 'created' | 'exists' => (this.calls.push(`create ${what}`), present ? 'exists' : 'created');
    return {
      namespace: (name) => Promise.resolve(this.namespaces.get(name)),
      namespaces: () => Promise.resolve([...this.namespaces.values()]),
      createNamespace: (object) => {
        const m = object.metadata as { name: string; labels: Record<string, string> };
        const answer = created(`namespace ${m.name}`, this.namespaces.has(m.name));
        this.namespaces.set(m.name, { name: m.name, record: m.labels[SCRATCH_NAMESPACE_LABEL] ?? '', terminating: false });
        return Promise.resolve(answer);
      },
      deleteNamespace: (name) => {
        this.calls.push(`delete namespace ${name}`);
        return Promise.resolve(this.namespaces.delete(name));
      },
      pods: () => Promise.resolve([...this.pods.values()]),
      createPod: (object) => {
        const m = object.metadata as { name: string };
        const answer = created(`pod ${m.name}`, this.pods.has(m.name));
        this.pods.set(m.name, { name: m.name, uid: `uid-${m.name}`, phase: 'Pending', deleting: false, initContainers: [] });
        return Promise.resolve(answer);
      },
      deletePod: (_ns, name) => {
        this.calls.push(`delete pod ${name}`);
        return Promise.resolve(this.pods.delete(name));
      },
      createSecret: (object) => {
        const m = object.metadata as { name: string };
        const answer = created(`secret ${m.name}`, this.secrets.has(m.name));
        if (answer === 'created') this.secrets.set(m.name, object);
        return Promise.resolve(answer);
      },
    };
  }

  deps(): DownloadRequestDeps {
    const cache = {
      synced: () => true,
      backup: (name: string) => (name === 'b1' ? this.backup : undefined),
      podVolumeBackupsOf: () => this.backupVolumes,
      restore: (name: string) => this.restores.get(name),
      podVolumeRestoresOf: () => this.restoreVolumes,
      remember: () => undefined,
      forget: (_r: string, name: string) => void this.restores.delete(name),
    } as Partial<VeleroCache> as VeleroCache;
    return {
      registry: new ComponentRegistry(tenantDirectory({ [NS]: ['acme', 'prod'] })),
      componentsSynced: () => true,
      cache,
      store: {
        create: (object: VeleroObject) => {
          this.calls.push(`create restore ${object.metadata.name}`);
          this.restores.set(object.metadata.name, { metadata: meta(object.metadata.name, object.metadata.labels), spec: object.spec as RestoreView['spec'], status: {} });
          return Promise.resolve(object);
        },
        remove: (resource: string, name: string) => {
          this.calls.push(`delete ${resource} ${name}`);
          return Promise.resolve(this.restores.delete(name));
        },
      } as unknown as DownloadRequestDeps['store'],
      policy: {} as PolicyStore,
      events: { record: () => Promise.resolve() },
      settings: { veleroNamespace: 'velero', storageLocation: 'default' },
      now: () => NOW,
      log: pino({ level: 'silent' }),
      requests: {
        write: (_name: string, patch: Record<string, unknown>): Promise<RecordWrite> => {
          if (!this.raw) return Promise.resolve({ kind: 'gone' });
          const data = { ...(this.raw.data as object), ...(patch.data as object) };
          this.version += 1;
          this.raw = { ...this.raw, data, metadata: { ...(this.raw.metadata as object), resourceVersion: String(this.version) } };
          return Promise.resolve({ kind: 'written', record: this.raw });
        },
        remove: () => {
          this.calls.push('delete record');
          this.raw = undefined;
          return Promise.resolve(true);
        },
      },
      index: this.index,
      scratch: this.scratch(),
      image: () => Promise.resolve(IMAGE),
      keepMs: 60_000,
    };
  }
}

function harness() {
  const fakes = new Fakes();
  const loop = downloadRequestLoop(fakes.deps(), 300_000);
  const unwatch = loop.watch();
  loop.queue.start();
  const settle = async (): Promise<void> => {
    // Every key a few times, as resyncs do: each reconcile is one step.
    for (let i = 0; i < 12; i++) {
      for (const key of loop.keys()) loop.queue.add(key);
      await loop.queue.idle();
    }
  };
  const stage = (): string | undefined => fakes.index.get(RECORD)?.progress?.stage;
  return { fakes, settle, stage, stop: () => (unwatch(), loop.queue.stop()) };
}

test('a download goes New → Restoring → Starting → Ready: namespace, Restore, restored pod deleted, Secret, holder; the Ready endpoint pins the Secret’s certificate; a resync does nothing again', async () => {
  const h = harness();
  h.fakes.record();
  await h.settle();
  expect(h.fakes.calls).toEqual([`create namespace ${SCRATCH}`, `create restore ${SCRATCH}`]);
  expect(h.stage()).toBe('Restoring');
  // Velero restored the pod (held by our init container) and wrote the volume.
  h.fakes.pods.set('db-0', { name: 'db-0', uid: 'p1', phase: 'Pending', deleting: false, initContainers: [{ name: 'restore-wait' }, { name: DOWNLOAD_HOLD_CONTAINER, image: IMAGE }] });
  h.fakes.restoreVolumes = [{ metadata: meta('pvr-1'), spec: { volume: 'data', pod: { name: 'db-0', namespace: SCRATCH } }, status: { phase: 'Completed' } }];
  await h.settle();
  expect(h.fakes.calls.slice(2)).toEqual(['delete pod db-0', 'create secret wutong-backup-download-tls', `create pod ${DOWNLOAD_HOLDER_NAME}`]);
  expect(h.stage()).toBe('Starting');
  const secret = h.fakes.secrets.get('wutong-backup-download-tls') as { stringData: Record<string, string> };
  expect(secret.stringData['token-sha256']).toBe(archiveTokenDigest('token'));
  h.fakes.pods.set(DOWNLOAD_HOLDER_NAME, { name: DOWNLOAD_HOLDER_NAME, uid: 'h1', phase: 'Running', podIP: '10.0.0.7', deleting: false, initContainers: [] });
  await h.settle();
  expect(h.fakes.index.get(RECORD)?.progress).toMatchObject({ stage: 'Ready', volumes: ['data-db-0'], holder: { ip: '10.0.0.7', port: 8443, fingerprint: new X509Certificate(secret.stringData['tls.crt'] ?? '').fingerprint256 } });
  expect(h.fakes.calls).toHaveLength(5);
  h.stop();
});

test('the record gone (the API’s stream ended): the sweep deletes the download’s Restore, then its scratch namespace', async () => {
  const h = harness();
  h.fakes.record();
  await h.settle();
  h.fakes.removeRecord();
  await h.settle();
  expect(h.fakes.calls.slice(2)).toEqual([`delete restores ${SCRATCH}`, `delete namespace ${SCRATCH}`]);
  expect(h.fakes.namespaces.size).toBe(0);
  h.stop();
});

test('a holder Secret already there whose fingerprint the record lacks (a leader died between the two writes): the download fails and its namespace goes', async () => {
  const h = harness();
  h.fakes.record();
  await h.settle();
  h.fakes.secrets.set('wutong-backup-download-tls', {});
  h.fakes.restoreVolumes = [{ metadata: meta('pvr-1'), spec: { volume: 'data', pod: { name: 'db-0', namespace: SCRATCH } }, status: { phase: 'Completed' } }];
  await h.settle();
  expect(h.fakes.index.get(RECORD)?.progress).toMatchObject({ stage: 'Failed', message: expect.stringMatching(/Secret was made by a controller that stopped/) as unknown });
  expect(h.fakes.calls).toContain(`delete namespace ${SCRATCH}`);
  expect(h.fakes.calls).not.toContain(`create pod ${DOWNLOAD_HOLDER_NAME}`);
  h.stop();
});
