import type { ExcludedNamespaces } from '../admission/excluded-namespaces.js';
import type { PodMetadataPatcher } from '../kube/pod-metadata-patcher.js';
import type { WebhookScopeReader } from '../kube/webhook-scope-reader.js';
import { backfillPatched, reportBackfillPending } from '../observability/metrics.js';
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { backfillFor, describeBackfill, type LivePod } from './backfill-patch.js';
import type { ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { webhookSees } from './webhook-scope.js';
import { WorkQueue } from './work-queue.js';

export interface BackfillDeps extends ControllerDeps {
  pods: PodMetadataPatcher;
  /** The webhook configuration's selectors and namespaces' labels: a pod the webhook would not be sent is not backfilled either. */
  scope: WebhookScopeReader;
  excludedNamespaces: ExcludedNamespaces;
  /** BACKFILL_RATE: reconciles (a read, at most one patch each) per second; also the burst. */
  ratePerSecond: number;
  /** CONTROLLER_RESYNC: how often a sweep runs regardless of triggers. */
  resyncMs: number;
}

export interface BackfillLoop extends ControllerLoop {
  /** For the component watch's onPod hook: every pod object it lists or watches, as delivered. */
  onPod(raw: unknown): void;
}

/**
 * Not a pod key (those are namespace/name): reconciling it lists the Running
 * pods the policy selects, page by page, and queues those that need a patch.
 * As a key of the queue, it runs only on the leader, is retried with
 * backoff when the API server fails, and coalesces: a policy change during a
 * sweep makes one more sweep after it, not one per change.
 */
const SWEEP_KEY = '*';

const podKey = (pod: LivePod): string | undefined => {
  const { namespace, name } = pod.metadata ?? {};
  return namespace && name ? `${namespace}/${name}` : undefined;
};

function selectorOf(policy: CompiledPolicy): string {
  return policy.podSelector.map(([key, value]) => `${key}=${value}`).join(',');
}

/**
 * Brings running pods up to date with what the webhook would give them now:
 * pods admitted while the webhook was down (failurePolicy Ignore) or before
 * a policy change. Level-based: a pod is queued when what the watch or a
 * sweep shows of it needs a patch, and the reconcile reads it again live,
 * computes the patch afresh and writes it guarded by its resourceVersion; so
 * a restart anywhere loses nothing (the next sweep finds what is still not
 * patched) and repeats nothing (a patched pod needs no patch).
 */
export function backfillLoop(deps: BackfillDeps): BackfillLoop {
  const { pods, policy, excludedNamespaces: excluded, log } = deps;
  const needsPatch = (raw: unknown): string | undefined => {
    const pod = raw as LivePod;
    const key = podKey(pod);
    if (key === undefined) return undefined;
    return backfillFor(raw, pod.metadata?.namespace ?? '', policy.current(), excluded) ? key : undefined;
  };

  const sweep = async (signal: AbortSignal): Promise<void> => {
    const current = policy.current();
    let seen = 0;
    let queued = 0;
    await pods.listRunning(selectorOf(current), (page) => {
      signal.throwIfAborted();
      for (const raw of page) {
        seen++;
        const key = needsPatch(raw);
        if (key !== undefined) {
          queue.add(key);
          queued++;
        }
      }
    });
    log.info({ policy: current.generation, pods: seen, queued }, 'backfill sweep: running pods the policy selects listed');
  };

  /**
   * Whether the API server would have sent the pod to the webhook. Without a
   * configuration (the webhook unregistered) nothing narrows what the policy
   * selects. A namespace being deleted is skipped either way: its pods are
   * about to go, and it refuses the Event.
   */
  const webhookWouldSee = async (namespace: string, pod: LivePod): Promise<boolean> => {
    const found = await deps.scope.namespace(namespace);
    if (found === undefined || found.terminating) return false;
    const webhooks = await deps.scope.webhooks();
    return webhooks === undefined || webhookSees(webhooks, found.labels, pod.metadata?.labels ?? {});
  };

  const reconcilePod = async (key: string, signal: AbortSignal): Promise<void> => {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = (await pods.read(namespace, name)) as LivePod | undefined;
    if (pod === undefined) return;
    const backfill = backfillFor(pod, namespace, policy.current(), excluded);
    if (backfill === undefined) return;
    if (!(await webhookWouldSee(namespace, pod))) {
      log.debug({ pod: key }, 'backfill skipped: the webhook configuration does not select this pod or its namespace, or the namespace is being deleted');
      return;
    }
    signal.throwIfAborted();
    const result = await pods.patch(namespace, name, backfill.patch);
    if (result.outcome === 'gone') return;
    // Someone else wrote the pod between the read and the patch: the queue's retry reads it again.
    if (result.outcome === 'conflict') throw new Error(`pod ${key} changed while being backfilled; retrying`);
    backfillPatched.inc();
    const patched = result.pod as LivePod;
    log.info({ pod: key, added: backfill.added.length, updated: backfill.updated.length, removed: backfill.removed.length }, 'pod backfilled');
    signal.throwIfAborted();
    await deps.events.record(
      { apiVersion: 'v1', kind: 'Pod', namespace, name, ...(patched.metadata?.uid ? { uid: patched.metadata.uid } : {}) },
      'Normal',
      EVENT_REASON.podBackfilled,
      describeBackfill(backfill),
    );
  };

  const queue = new WorkQueue(
    (key, signal) => (key === SWEEP_KEY ? sweep(signal) : reconcilePod(key, signal)),
    { name: 'backfill', ratePerSecond: deps.ratePerSecond, burst: Math.max(1, Math.ceil(deps.ratePerSecond)) },
    log,
  );
  reportBackfillPending(() => queue.length);

  let watching = false;
  return {
    queue,
    // Gaining leadership and every resync: one sweep finds whatever is still not patched.
    keys: () => [SWEEP_KEY],
    resyncMs: deps.resyncMs,
    watch() {
      watching = true;
      const unsubscribe = policy.subscribe(() => queue.add(SWEEP_KEY));
      return () => {
        watching = false;
        unsubscribe();
      };
    },
    onPod(raw) {
      if (!watching) return;
      const key = needsPatch(raw);
      if (key !== undefined) queue.add(key);
    },
  };
}
