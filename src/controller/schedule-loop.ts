// Keeps every component's Velero Schedule as desired-schedule.ts says:
// created for what a policy rule protects, paused while the component is
// stopped, resumed when it runs, deleted with the component or its
// protection. Resumed only once every replica is Ready (component-readiness.ts:
// the registry's pods carry their Ready condition, so a pod turning Ready
// queues its component). Keyed by component, (namespace, service_id); the periodic
// resync looks at every component and at every component a cached Schedule
// is scoped to, which is the
// sweep that removes Schedules a crash (or the region API) left behind.
import { liveSchedulesOf } from '../velero/live-component-objects.js';
import type { Logger } from 'pino';
import { AlreadyExists } from '../velero/velero-ports.js';
import type { ComponentSnapshot } from '../components/component-registry.js';
import { scheduleComponent } from '../velero/velero-scope.js';
import { componentReady } from '../components/component-readiness.js';
import { identityOf, type ComponentKey } from '../components/component-key.js';
import { viewSchedule, type ScheduleView } from '../velero/velero-views.js';
import { componentProtection, scheduleRule } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { desiredSchedule, type ScheduleAction } from './desired-schedule.js';
import { eventTarget } from './event-target.js';
import { WorkQueue } from './work-queue.js';

/** Components reconciled at once. */
const SCHEDULE_CONCURRENCY = 8;

/** How often a loop whose picture is incomplete (the first lists still running) looks again. */
const SYNC_POLL_MS = 1_000;

function decide(deps: ControllerDeps, component: ComponentSnapshot | undefined, schedules: readonly ScheduleView[]): ScheduleAction[] {
  const protection = componentProtection(deps.policy.current(), component, scheduleRule(schedules));
  return desiredSchedule(component && { ...component, ready: componentReady(component) }, protection, schedules, deps.settings, new Date());
}

async function perform(deps: ControllerDeps, action: ScheduleAction): Promise<void> {
  if (action.kind === 'create') {
    try {
      deps.cache.remember('schedules', await deps.store.create(action.object));
    } catch (err) {
      // Someone (the API, another leader's last write) made it meanwhile: decide again on what is there.
      if (err instanceof AlreadyExists) throw new Error(`Schedule ${action.object.metadata.name} appeared meanwhile; deciding again`);
      throw err;
    }
  } else if (action.kind === 'patch') {
    deps.cache.remember('schedules', await deps.store.patch('schedules', action.name, action.patch));
  } else {
    await deps.store.remove('schedules', action.name);
    deps.cache.forget('schedules', action.name);
  }
}

/** Whether a namespace exists at all (a live GET): the schedule loop's check before it sweeps Schedules of a namespace that is no tenant env. */
export type NamespaceExists = (name: string) => Promise<boolean>;

/** Whether a restore of the component is under way (src/restore/): its PVCs are replaced, so for a while it looks deleted. */
export type RestoreUnderWay = (key: ComponentKey) => boolean;

async function reconcile(deps: ControllerDeps, log: Logger, key: ComponentKey, signal: AbortSignal, namespaceExists: NamespaceExists, restoring: RestoreUnderWay): Promise<void> {
  const component = deps.registry.get(key);
  // A restore deletes the PVCs it replaces and Velero recreates them: the component is not deleted, and its Schedule (the user's, perhaps) must stay.
  if ((component === undefined || component.state === 'deleted') && restoring(key)) return;
  const { namespace, serviceId } = identityOf(key);
  let actions = decide(deps, component, deps.cache.schedulesOf(key));
  if (actions.length === 0) return;
  // A Schedule of a namespace the directory does not count as a tenant env:
  // swept only when the namespace is gone. One that exists but lost its
  // labels (or a TENANT_NAMESPACE_SELECTOR set wrong) is a platform matter:
  // deleting every Schedule there, the API's included, would weaken
  // protection on a configuration slip.
  if (component === undefined && !deps.registry.tenants.isTenantNamespace(namespace) && (await namespaceExists(namespace))) {
    log.debug({ componentKey: key }, 'Schedules of a namespace that is no tenant env: left alone');
    return;
  }
  // A create or delete is not undone by the next pass: decide it on a live read, not the cache.
  if (actions.some((a) => a.kind === 'delete')) {
    actions = decide(deps, deps.registry.get(key), await liveSchedulesOf(deps.store, key));
  } else if (actions.some((a) => a.kind === 'create')) {
    // A live list reads every Schedule in Velero's namespace from etcd (the
    // label selector filters afterwards): before each of thousands of
    // creates that is quadratic. Our own name is guarded by the create
    // itself (AlreadyExists); the only other Schedule a create could
    // duplicate is one the region API made, named <service_id>: one GET.
    const regionApiMade = viewSchedule(await deps.store.get('schedules', serviceId));
    if (regionApiMade && scheduleComponent(regionApiMade) === key) actions = decide(deps, deps.registry.get(key), [...deps.cache.schedulesOf(key), regionApiMade]);
  }
  const target = eventTarget(component);
  for (const action of actions) {
    signal.throwIfAborted();
    await perform(deps, action);
    log.info({ componentKey: key, reason: action.reason }, action.message);
    if (target) await deps.events.record(target, 'Normal', action.reason, action.message);
  }
}

/** The schedule loop; `resyncMs` is CONTROLLER_RESYNC. */
export function scheduleLoop(deps: ControllerDeps, resyncMs: number, namespaceExists: NamespaceExists, restoring: RestoreUnderWay = () => false): ControllerLoop {
  const log = deps.log.child({ loop: 'schedules' });
  // Keys that came while the picture was incomplete: a half-listed registry
  // looks like every component deleted, so nothing is decided until both the
  // components and the Velero objects have been listed once.
  const waiting = new Set<string>();
  let poll: NodeJS.Timeout | undefined;
  const release = (): void => {
    if (!synced(deps)) return;
    clearInterval(poll);
    poll = undefined;
    for (const key of waiting) queue.add(key);
    waiting.clear();
  };
  const queue = new WorkQueue(
    async (key, signal) => {
      if (!synced(deps)) {
        waiting.add(key);
        poll ??= setInterval(release, SYNC_POLL_MS).unref();
        return;
      }
      await reconcile(deps, log, key as ComponentKey, signal, namespaceExists, restoring);
    },
    // Each reconcile that writes waits on two or three API calls (live list, write, Event): the first
    // pass over thousands of protected components is I/O-bound, not CPU-bound (npm run bench).
    { name: 'schedules', concurrency: SCHEDULE_CONCURRENCY },
    log,
  );
  const keys = (): Set<string> => new Set<string>([...deps.registry.keys(), ...deps.cache.scheduleComponents()]);
  return {
    queue,
    keys,
    resyncMs,
    watch() {
      const unsubscribe = [
        deps.registry.subscribe((key) => queue.add(key)),
        deps.cache.subscribe((change) => {
          if (change.resource === 'schedules' && change.component !== undefined) queue.add(change.component);
        }),
        deps.policy.subscribe(() => {
          for (const key of keys()) queue.add(key);
        }),
      ];
      return () => {
        for (const off of unsubscribe) off();
        clearInterval(poll);
        poll = undefined;
      };
    },
  };
}
