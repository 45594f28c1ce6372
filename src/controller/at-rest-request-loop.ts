// The controller's side of the at-rest hand-over (src/holder/at-rest-request.ts):
// for every request record the API wrote, on the leader only, what
// atRestRequestStep says: run backUpAtRest (the holder pod is the
// controller's to create, never the API's), refuse it, expire it, or remove
// it a while after its outcome. The outcome goes into the record, guarded by
// the resourceVersion it was decided on. Level-based: a leader that dies
// mid-way leaves the record undecided and the next one runs it again, which
// backUpAtRest answers with `earlier` (the Backup exists) or `holder-busy`
// (the first try's holder is still up); after startBy it is expired instead.
import type { Logger } from 'pino';
import { backUpAtRest, type AtRestDeps } from '../holder/at-rest-backup.js';
import { decisionPatch, earlierTryOf, readAtRestRequest, type AtRestRequestRecord, type HandoffOutcome } from '../holder/at-rest-request.js';
import type { AtRestRequestIndex } from '../holder/at-rest-request-index.js';
import type { AtRestRequestWriter } from '../holder/at-rest-request-ports.js';
import { atRestRequestStep } from '../holder/at-rest-request-step.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
/** Each run can wait for a holder to start (HOLDER_START_TIMEOUT): a few at once, as the backup on stop. */
const CONCURRENCY = 4;

export interface AtRestRequestDeps extends ControllerDeps {
  atRest: AtRestDeps;
  requests: AtRestRequestWriter;
  index: AtRestRequestIndex;
  tenants: { isTenantNamespace(namespace: string): boolean };
  /** AT_REST_REQUEST_KEEP: how long a decided record stays for the API waiting on it. */
  keepMs: number;
}

async function reconcile(deps: AtRestRequestDeps, log: Logger, name: string, signal: AbortSignal): Promise<ReconcileResult> {
  // The tenant directory decides what a request may touch: before it has listed, every namespace looks like no tenant env.
  if (!synced(deps) || !deps.index.synced()) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  const record = deps.index.get(name);
  if (!record) return;
  const step = atRestRequestStep(record, { now: deps.now(), keepMs: deps.keepMs, isTenantNamespace: (ns) => deps.tenants.isTenantNamespace(ns), veleroNamespace: deps.settings.veleroNamespace });
  switch (step.kind) {
    case 'wait':
      return { requeueAfterMs: step.ms };
    case 'remove':
      signal.throwIfAborted();
      if (await deps.requests.remove(record.name, record.uid)) log.info({ request: name, outcome: record.decision?.outcome.kind }, 'at-rest backup request removed');
      return;
    case 'decide':
      signal.throwIfAborted();
      return decide(deps, log, record, step.outcome);
    case 'run': {
      signal.throwIfAborted();
      const { component, backup } = step.handoff;
      log.info({ request: name, serviceId: component.serviceId, namespace: component.namespace, backup: backup.metadata.name }, 'at-rest backup request taken');
      const outcome = await backUpAtRest(deps.atRest, { serviceId: component.serviceId, namespace: component.namespace, backup, earlier: earlierTryOf(backup) });
      return decide(deps, log, record, outcome);
    }
  }
}

async function decide(deps: AtRestRequestDeps, log: Logger, record: AtRestRequestRecord, outcome: HandoffOutcome): Promise<ReconcileResult> {
  const written = await deps.requests.decide(record.name, decisionPatch(record.resourceVersion, { outcome, decidedAt: deps.now().toISOString() }));
  const fields = { request: record.name, outcome: outcome.kind, ...(outcome.kind === 'refused' ? { why: outcome.why } : {}) };
  if (written.kind !== 'written') {
    // Changed meanwhile (its new version is queued by the watch) or gone: nothing to answer any more.
    log.info({ ...fields, write: written.kind }, 'at-rest backup request outcome not written');
    return;
  }
  const level = outcome.kind === 'refused' || outcome.kind === 'expired' ? 'warn' : 'info';
  log[level](fields, 'at-rest backup request decided');
  const decided = readAtRestRequest(written.record);
  if (decided) deps.index.upsert(decided);
  return { requeueAfterMs: deps.keepMs };
}

/** The request loop; `resyncMs` is CONTROLLER_RESYNC. */
export function atRestRequestLoop(deps: AtRestRequestDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'at-rest-requests' });
  const queue = new WorkQueue((name, signal) => reconcile(deps, log, name, signal), { name: 'at-rest-requests', concurrency: CONCURRENCY }, log);
  return {
    queue,
    keys: () => deps.index.names(),
    resyncMs,
    watch: () => deps.index.subscribe((name) => queue.add(name)),
  };
}
