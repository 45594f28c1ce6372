import { identityOf, type ComponentKey } from '../components/component-key.js';
import { namespaceTag } from '../velero/object-names.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ComponentLock } from '../components/component-lock.js';
import { unavailable } from '../api/api-error.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { leaseCollectionPath, microTime, type LeaseJson } from './lease-json.js';

export interface LeaseLockOptions {
  /** Namespace of the Lease objects: the project's own. */
  namespace: string;
  /** Who holds it (pod name): shown in the Lease, for whoever debugs a stuck one. */
  holder: string;
  /**
   * A holder that crashed mid-section leaves its Lease behind; after this
   * long anyone may take it over. It must exceed the longest critical
   * section: a few API calls, each bounded by requestTimeoutMs.
   */
  leaseSeconds?: number;
  /** How long a request waits for the lock before answering 503 (retry). */
  waitMs?: number;
  requestTimeoutMs?: number;
}

/**
 * A per-component mutex made of a coordination.k8s.io Lease: creating an
 * object with a fixed name is atomic in the API server, so of many replicas
 * exactly one gets it; the others retry until it is deleted (released) or
 * has expired (its holder died), and an expired one is taken over with a
 * resourceVersion-checked update, so two cannot take it over at once.
 */
export function leaseLock(http: KubeHttp, options: LeaseLockOptions, log: Logger): ComponentLock {
  const leaseSeconds = options.leaseSeconds ?? 30;
  const waitMs = options.waitMs ?? 20_000;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const collection = leaseCollectionPath(options.namespace);

  const leaseBody = (name: string, identity: string, resourceVersion?: string): object => {
    const now = microTime(new Date());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: options.namespace, ...(resourceVersion ? { resourceVersion } : {}), labels: { 'app.kubernetes.io/name': 'wutong-backup' } },
      spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now },
    };
  };

  /** One attempt: the held Lease's uid and resourceVersion, or undefined when someone else holds it. */
  const tryAcquire = async (name: string, identity: string): Promise<{ uid: string; resourceVersion: string } | undefined> => {
    const created = await http.send('POST', collection, leaseBody(name, identity), timeoutMs);
    if (created.status === 201) return held(created.body);
    if (created.status !== 409) throw unexpectedAnswer(created, `create Lease ${name}`);
    const current = await http.send('GET', `${collection}/${name}`, undefined, timeoutMs);
    if (current.status === 404) return undefined; // released in between: the next attempt creates it
    if (current.status !== 200) throw unexpectedAnswer(current, `get Lease ${name}`);
    const lease = current.body as LeaseJson;
    if (!expired(lease, Date.now())) return undefined;
    const taken = await http.send('PUT', `${collection}/${name}`, leaseBody(name, identity, lease.metadata?.resourceVersion), timeoutMs);
    if (taken.status === 200) {
      log.warn({ lease: name, previousHolder: lease.spec?.holderIdentity }, 'took over an expired component lock (its holder stopped mid-request)');
      return held(taken.body);
    }
    if (taken.status === 409) return undefined; // another replica took it over first
    throw unexpectedAnswer(taken, `take over Lease ${name}`);
  };

  const release = async (name: string, lease: { uid: string; resourceVersion: string }): Promise<void> => {
    // Preconditions: never delete a Lease someone else took over after ours expired.
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: lease.uid, resourceVersion: lease.resourceVersion } };
    try {
      const answer = await http.send('DELETE', `${collection}/${name}`, body, timeoutMs);
      if (answer.status !== 200 && answer.status !== 404 && answer.status !== 409) log.warn({ lease: name, status: answer.status }, 'releasing the component lock failed; it expires on its own');
    } catch (err) {
      log.warn({ lease: name, err: (err as Error).message }, 'releasing the component lock failed; it expires on its own');
    }
  };

  // Requests for one component on this replica queue here first, so they
  // reach the Lease one at a time instead of all polling the API server.
  const queues = new Map<string, Promise<unknown>>();

  const acquireAndRun = async <T>(component: ComponentKey, work: () => Promise<T>): Promise<T> => {
    const { namespace, serviceId } = identityOf(component);
    // The namespace's tag: the same service_id in two namespaces is two components, two locks.
    const name = `wutong-backup-${serviceId}-${namespaceTag(namespace)}`;
    const identity = `${options.holder}/${randomBytes(4).toString('hex')}`;
    const deadline = Date.now() + waitMs;
    let delay = 10;
    for (;;) {
      const lease = await tryAcquire(name, identity);
      if (lease) {
        try {
          return await work();
        } finally {
          await release(name, lease);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw unavailable(`another request for this component is still being handled (lock ${options.namespace}/${name}); retry`, 'component_busy');
      }
      // Jittered, so waiters on several replicas do not retry in step.
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, delay + Math.random() * delay)));
      delay = Math.min(delay * 2, 250);
    }
  };

  return {
    withLock(component, work, shortcut) {
      const previous = queues.get(component) ?? Promise.resolve();
      const turn = async <T>(run: () => Promise<T>, early?: () => T | undefined): Promise<T> => {
        const answer = early?.();
        return answer !== undefined ? answer : acquireAndRun(component, run);
      };
      const mine = previous.catch(() => undefined).then(() => turn(work, shortcut));
      const settled = mine.catch(() => undefined);
      queues.set(component, settled);
      void settled.then(() => {
        if (queues.get(component) === settled) queues.delete(component);
      });
      return mine;
    },
  };
}

function held(body: unknown): { uid: string; resourceVersion: string } {
  const meta = (body as LeaseJson).metadata;
  return { uid: meta?.uid ?? '', resourceVersion: meta?.resourceVersion ?? '' };
}

function expired(lease: LeaseJson, now: number): boolean {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  if (Number.isNaN(renewed)) return true;
  return renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 < now;
}
