import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroStore } from '../../../src/velero/velero-ports.js';
import type { ComponentLock } from '../../../src/components/component-lock.js';
import type { AtRestDeps } from '../../../src/holder/at-rest-backup.js';
import type { HolderPods, LiveClaim } from '../../../src/holder/holder-ports.js';
import { viewHolderPod } from '../../../src/holder/holder-view.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import type { VeleroObject } from '../../../src/velero/velero-resources.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';
import { backupComponent } from '../../../src/velero/velero-scope.js';

export const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const NS = 'acme-prod';

type Raw = Record<string, unknown> & { metadata: Record<string, unknown>; status?: Record<string, unknown> };

/** Pods and PVCs as the API server holds them; `kubelet` decides what a created pod becomes. */
export class FakeCluster implements HolderPods {
  readonly pods = new Map<string, Raw>();
  claims: LiveClaim[] = [{ name: 'manual1001-gr0a1b2c-0', uid: 'c1', labels: { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c' } }];
  readonly calls: string[] = [];
  /** What the kubelet makes of a new pod: Running at once by default. */
  kubelet: (pod: Raw) => void = (pod) => {
    pod.status = { phase: 'Running' };
  };
  #uid = 0;

  claimsOf(): Promise<LiveClaim[]> {
    return Promise.resolve(this.claims);
  }
  get(namespace: string, name: string) {
    this.calls.push(`get ${name}`);
    const raw = this.pods.get(`${namespace}/${name}`);
    return Promise.resolve(raw ? viewHolderPod(raw) : undefined);
  }
  create(pod: Record<string, unknown>): Promise<'created' | 'exists'> {
    const raw = structuredClone(pod) as Raw;
    const key = `${String(raw.metadata.namespace)}/${String(raw.metadata.name)}`;
    this.calls.push(`create ${String(raw.metadata.name)}`);
    if (this.pods.has(key)) return Promise.resolve('exists');
    raw.metadata.uid = `pod-${++this.#uid}`;
    raw.metadata.creationTimestamp = '2026-12-02T08:00:00Z';
    raw.status = { phase: 'Pending' };
    this.pods.set(key, raw);
    this.kubelet(raw);
    return Promise.resolve('created');
  }
  remove(namespace: string, name: string, uid: string): Promise<boolean> {
    this.calls.push(`delete ${name}`);
    const key = `${namespace}/${name}`;
    if (this.pods.get(key)?.metadata.uid !== uid) return Promise.resolve(false);
    return Promise.resolve(this.pods.delete(key));
  }
}

export class FakeVelero {
  readonly backups = new Map<string, Raw>();
  readonly created: VeleroObject[] = [];
  /** A Backup labelled with SID, scoped to `namespace` (the component's, NS, unless said). */
  put(name: string, phase: string, labels: Record<string, string> = {}, namespace = NS): void {
    this.backups.set(name, { metadata: { name, namespace: 'velero', uid: name, creationTimestamp: '2026-12-02T07:00:00Z', labels: { 'wutong.io/service_id': SID, ...labels } }, spec: { includedNamespaces: [namespace] }, status: { phase } });
  }
  views(): BackupView[] {
    return [...this.backups.values()].map(viewBackup).filter((v): v is BackupView => v !== undefined);
  }
  readonly store: VeleroStore = {
    list: () => Promise.resolve([...this.backups.values()]),
    get: (_r, name) => Promise.resolve(this.backups.get(name)),
    create: (object) => {
      if (this.backups.has(object.metadata.name)) return Promise.reject(new AlreadyExists(object.metadata.name));
      this.created.push(object);
      const raw = { ...structuredClone(object), metadata: { ...structuredClone(object.metadata), uid: object.metadata.name, creationTimestamp: '2026-12-02T08:00:01Z' }, status: {} } as Raw;
      this.backups.set(object.metadata.name, raw);
      return Promise.resolve(raw);
    },
    patch: () => Promise.reject(new Error('not used')),
    remove: () => Promise.reject(new Error('not used')),
  };
  readonly remembered: string[] = [];
  readonly cache = {
    remember: (_r: string, raw: unknown) => this.remembered.push(String((raw as Raw).metadata.name)),
    // As the real cache: by label and scope (velero-scope.ts).
    backupsOf: (key: string) => this.views().filter((b) => backupComponent(b) === key),
  } as unknown as VeleroCache;
}

/** One holder of the lock at a time, in order: what the Lease lock guarantees across replicas. */
export function serialLock(): ComponentLock & { held: number } {
  let tail: Promise<unknown> = Promise.resolve();
  const lock = {
    held: 0,
    withLock<T>(_id: string, work: () => Promise<T>): Promise<T> {
      const run = tail.catch(() => undefined).then(async () => {
        lock.held++;
        try {
          return await work();
        } finally {
          lock.held--;
        }
      });
      tail = run;
      return run;
    },
  };
  return lock;
}

export function recorder(): EventRecorder & { events: string[] } {
  const events: string[] = [];
  return { events, record: (o, type, reason, message) => (events.push(`${type} ${reason} ${o.kind}/${o.name}: ${message}`), Promise.resolve()) };
}

export function atRestDeps(cluster: FakeCluster, velero: FakeVelero, overrides: Partial<AtRestDeps> = {}): AtRestDeps & { events: ReturnType<typeof recorder> } {
  const events = recorder();
  return {
    holders: cluster,
    store: velero.store,
    cache: velero.cache,
    lock: serialLock(),
    events,
    holderImage: () => Promise.resolve('wutong-backup:test'),
    settings: { holderStartTimeoutMs: 1_000, holderPollMs: 10 },
    log: pino({ level: 'silent' }),
    sleep: () => new Promise((r) => setTimeout(r, 1)),
    ...overrides,
  } as AtRestDeps & { events: ReturnType<typeof recorder> };
}
