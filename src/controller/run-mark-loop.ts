// Keeps the run mark (src/components/run-mark.ts) on every PVC of every
// protected component: "running" while it runs, the time of the stop once
// Wutong has stopped it. Level-based: a replica that missed the stop (it was
// down, or not leading) marks it on its first pass, later than the real stop,
// which only makes the covering check stricter. Keyed by service_id.
import type { ComponentKey } from '../components/component-key.js';
import type { Logger } from 'pino';
import type { ComponentSnapshot } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { nextRunMark, readRunMark, runMarkValue } from '../components/run-mark.js';
import type { ClaimPatcher } from '../kube/claim-patcher.js';
import { currentProtection } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const CONCURRENCY = 4;
const NOT_SYNCED_RETRY_MS = 1_000;

export interface RunMarkDeps extends ControllerDeps {
  claims: ClaimPatcher;
}

/** The patches one component's PVCs need: pure, so the loop is a thin shell around it. */
export function runMarkPatches(component: ComponentSnapshot, now: Date): Array<{ namespace: string; name: string; resourceVersion: string; value: string }> {
  const patches = [];
  for (const claim of component.claims) {
    const next = nextRunMark(component, readRunMark(claim.annotations), now);
    if (next) patches.push({ namespace: claim.namespace, name: claim.name, resourceVersion: claim.resourceVersion, value: runMarkValue(next) });
  }
  return patches;
}

async function reconcile(deps: RunMarkDeps, log: Logger, key: ComponentKey): Promise<ReconcileResult> {
  if (!synced(deps)) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  const component = deps.registry.get(key);
  if (component === undefined || currentProtection(deps, component) === undefined) return;
  for (const patch of runMarkPatches(component, deps.now())) {
    // A 409 (the PVC changed since the registry saw it) throws: the queue retries on the newer version.
    const outcome = await deps.claims.patch(patch.namespace, patch.name, { annotations: { [PROTECTION_ANNOTATION.ranUntil]: patch.value } }, patch.resourceVersion);
    if (outcome === 'patched') log.info({ componentKey: key, claim: `${patch.namespace}/${patch.name}`, ranUntil: patch.value }, 'run mark written');
  }
}

/** The run-mark loop; `resyncMs` is CONTROLLER_RESYNC. */
export function runMarkLoop(deps: RunMarkDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'run-marks' });
  const queue = new WorkQueue((key) => reconcile(deps, log, key as ComponentKey), { name: 'run-marks', concurrency: CONCURRENCY }, log);
  const keys = (): Iterable<string> => deps.registry.keys();
  return {
    queue,
    keys,
    resyncMs,
    watch() {
      const unsubscribe = [
        deps.registry.subscribe((key) => queue.add(key)),
        deps.policy.subscribe(() => {
          for (const key of keys()) queue.add(key);
        }),
        // A policy Schedule names the rule that keeps protecting a stopped component.
        deps.cache.subscribe((change) => {
          if (change.resource === 'schedules' && change.component !== undefined) queue.add(change.component);
        }),
      ];
      return () => unsubscribe.forEach((off) => off());
    },
  };
}
