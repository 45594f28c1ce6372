import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ElectionTiming, LeaseRecord, StoredLease } from '../controller/leader-election.js';
import { createLeaderElector, type LeaseRecordStore } from '../controller/leader-election-loop.js';
import type { LeaderElector } from '../controller/leader-elector.js';
import { unexpectedAnswer, type KubeHttp, type KubeResponse } from './kube-http.js';
import { leaseCollectionPath, microTime, type LeaseJson } from './lease-json.js';

/** The one Lease whose holder runs the controller loops. */
export const CONTROLLER_LEASE = 'wutong-backup-controller';

export interface LeaseElectorOptions {
  /** The project's own namespace. */
  namespace: string;
  identity: string;
  timing: ElectionTiming;
  /** Lease name; CONTROLLER_LEASE unless a test runs elections side by side. */
  name?: string;
  /** This replica's clock in ms (tests skew it). */
  now?: () => number;
}

/**
 * Who this replica is in the Lease: the pod's name, so `kubectl get lease`
 * tells which pod leads, plus a random suffix, so a restarted container of
 * the same pod is a new candidate rather than a holder that never stopped.
 */
export function electorIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`;
}

function toRecord(body: unknown): StoredLease {
  const lease = body as LeaseJson;
  const time = (text: string | undefined): Date | undefined => {
    const ms = Date.parse(text ?? '');
    return Number.isNaN(ms) ? undefined : new Date(ms);
  };
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: lease.spec?.holderIdentity ?? '',
      leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
      acquireTime: time(lease.spec?.acquireTime),
      renewTime: time(lease.spec?.renewTime),
      leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    },
  };
}

/** The controller Lease in the API server: GET, POST, and PUT with the resourceVersion as precondition. */
export function leaseRecordStore(http: KubeHttp, namespace: string, name: string): LeaseRecordStore {
  const collection = leaseCollectionPath(namespace);
  const path = `${collection}/${name}`;
  const body = (record: LeaseRecord, resourceVersion?: string): object => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }), labels: { 'app.kubernetes.io/name': 'wutong-backup' } },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      ...(record.acquireTime ? { acquireTime: microTime(record.acquireTime) } : {}),
      ...(record.renewTime ? { renewTime: microTime(record.renewTime) } : {}),
      leaseTransitions: record.leaseTransitions,
    },
  });
  const written = (answer: KubeResponse, ok: number, what: string): StoredLease | 'conflict' => {
    if (answer.status === ok) return toRecord(answer.body);
    // 404 on an update: deleted by someone; the next try creates it afresh.
    if (answer.status === 409 || answer.status === 404) return 'conflict';
    throw unexpectedAnswer(answer, what);
  };
  return {
    async get(timeoutMs) {
      const answer = await http.send('GET', path, undefined, timeoutMs);
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw unexpectedAnswer(answer, `get Lease ${namespace}/${name}`);
      return toRecord(answer.body);
    },
    async create(record, timeoutMs) {
      return written(await http.send('POST', collection, body(record), timeoutMs), 201, `create Lease ${namespace}/${name}`);
    },
    async update(record, resourceVersion, timeoutMs) {
      return written(await http.send('PUT', path, body(record, resourceVersion), timeoutMs), 200, `update Lease ${namespace}/${name}`);
    },
  };
}

/** Leader election over the controller Lease: only its holder runs the controller loops. */
export function leaseElector(http: KubeHttp, options: LeaseElectorOptions, log: Logger): LeaderElector {
  const name = options.name ?? CONTROLLER_LEASE;
  return createLeaderElector(
    leaseRecordStore(http, options.namespace, name),
    { identity: options.identity, timing: options.timing, lease: `${options.namespace}/${name}`, ...(options.now ? { now: options.now } : {}) },
    log,
  );
}
