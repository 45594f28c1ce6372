import pino from 'pino';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import type { AtRestRequestDeps } from '../../../src/controller/at-rest-request-loop.js';
import type { PolicyStore } from '../../../src/policy/policy-store.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';
import { atRestDeps, NS, type FakeCluster, type FakeVelero } from './holder-fakes.js';
import { readAtRestRequest } from '../../../src/holder/at-rest-request.js';
import { AtRestRequestIndex } from '../../../src/holder/at-rest-request-index.js';
import type { AtRestRequestStore, AtRestRequestWriter, DecisionWrite } from '../../../src/holder/at-rest-request-ports.js';

type Raw = { metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string> }; data: Record<string, string> };

/**
 * The project's namespace's ConfigMaps as the API server holds them: create
 * (409 on a taken name), get, merge patch guarded by metadata.resourceVersion,
 * delete with a uid precondition; and the controller's watch of them, which
 * feeds `index` at once (or not at all while `watching` is false).
 */
export class FakeRequestRecords implements AtRestRequestStore, AtRestRequestWriter {
  readonly records = new Map<string, Raw>();
  readonly index = new AtRestRequestIndex();
  readonly calls: string[] = [];
  watching = true;
  #version = 0;
  #uid = 0;

  constructor() {
    this.index.markSynced();
  }

  create(record: Record<string, unknown>): Promise<'created' | 'exists'> {
    const raw = structuredClone(record) as unknown as Raw;
    this.calls.push(`create ${raw.metadata.name}`);
    if (this.records.has(raw.metadata.name)) return Promise.resolve('exists');
    raw.metadata.uid = `cm-${++this.#uid}`;
    this.#store(raw);
    return Promise.resolve('created');
  }

  get(name: string): Promise<unknown> {
    this.calls.push(`get ${name}`);
    return Promise.resolve(structuredClone(this.records.get(name)));
  }

  decide(name: string, patch: Record<string, unknown>): Promise<DecisionWrite> {
    this.calls.push(`patch ${name}`);
    const raw = this.records.get(name);
    if (!raw) return Promise.resolve({ kind: 'gone' });
    const { metadata, data } = patch as { metadata: { resourceVersion: string }; data: Record<string, string> };
    if (metadata.resourceVersion !== raw.metadata.resourceVersion) return Promise.resolve({ kind: 'conflict' });
    const next = structuredClone(raw);
    Object.assign(next.data, data);
    this.#store(next);
    return Promise.resolve({ kind: 'written', record: structuredClone(next) });
  }

  remove(name: string, uid: string): Promise<boolean> {
    this.calls.push(`delete ${name}`);
    if (this.records.get(name)?.metadata.uid !== uid) return Promise.resolve(false);
    this.records.delete(name);
    if (this.watching) this.index.remove(name);
    return Promise.resolve(true);
  }

  /** What another writer (an older leader, an operator) does to a record: a new resourceVersion. */
  touch(name: string): void {
    const raw = this.records.get(name);
    if (raw) this.#store(structuredClone(raw));
  }

  #store(raw: Raw): void {
    raw.metadata.resourceVersion = String(++this.#version);
    this.records.set(raw.metadata.name, raw);
    const record = readAtRestRequest(structuredClone(raw));
    if (this.watching && record) this.index.upsert(record);
  }
}

/** The controller's side of a hand-off in one test: its loop's deps over the fakes, with the tenant env acme/prod at NS, records kept 10 minutes. */
export function atRestRequestLoopDeps(records: FakeRequestRecords, cluster: FakeCluster, velero: FakeVelero, now: () => Date): AtRestRequestDeps {
  const tenants = tenantDirectory({ [NS]: ['acme', 'prod'] });
  return {
    registry: new ComponentRegistry(tenants),
    componentsSynced: () => true,
    cache: { ...velero.cache, synced: () => true },
    store: velero.store,
    policy: {} as PolicyStore,
    events: { record: () => Promise.resolve() },
    settings: { veleroNamespace: 'velero', storageLocation: 'default' },
    now,
    log: pino({ level: 'silent' }),
    atRest: atRestDeps(cluster, velero),
    requests: records,
    index: records.index,
    tenants,
    keepMs: 600_000,
  };
}
