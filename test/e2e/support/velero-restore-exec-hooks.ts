import { parseGoDuration } from './go-duration.js';
import { DEFAULT_HOOK_TIMEOUT_MS, includesExcludes, parseHookCommand, selectorMatches, type RestoreHooksSpec } from './velero-hooks.js';
import type { ExecResult, NodeRuntime } from './node-runtime.js';

/**
 * VELERO'S POST-RESTORE EXEC HOOKS (test helper, part of the Velero
 * stand-in's data mode), as vmware-tanzu/velero v1.11.1 runs them:
 *
 * Which hooks (internal/hook/item_hook_handler.go):
 * - getPodExecRestoreHookFromAnnotations L448-488: only when
 *   `post.hook.restore.velero.io/command` is set; container, on-error (only
 *   "Continue" or "Fail", else empty), exec-timeout and wait-timeout (Go
 *   durations; an unparsable one is ignored, i.e. 0, with a warning).
 * - GroupRestoreExecHooks L500-555: the annotation's hook (named
 *   "<from-annotation>", source "annotation") and nothing else; without one,
 *   every spec.hooks.resources[].postHooks[].exec whose selector takes the
 *   restored pod (its namespace after namespaceMapping, its labels; the
 *   resource filter is always just "pods": GetRestoreHooksFromSpec L415-444
 *   ignores includedResources). A hook without a container goes to the pod's
 *   first container.
 *
 * How they run (internal/hook/wait_exec_hook_handler.go HandleHooks):
 * - L78-86: hooks for a container the pod does not have are discarded with a
 *   warning (logged, not counted).
 * - L92-99: one wait for the pod: the largest wait-timeout of its hooks, or
 *   no limit at all when any hook has none (maxHookWait L262-275) — a pod
 *   whose container never runs then holds the Restore InProgress for ever.
 * - L109-186, L188-203: a watch on the pod; each time it changes, every
 *   container still pending whose containerStatuses[].state.running is set
 *   (isContainerRunning L246-258; not readiness) gets all its hooks in order.
 *   A hook whose own wait-timeout has passed by then is logged "expired
 *   before executing" and, only with on-error Fail, ends the wait with that
 *   error; otherwise it is RUN ANYWAY (L157-165 has no `continue`).
 * - the exec: pkg/podexec/pod_command_executor.go ExecutePodCommand (the
 *   container must exist, hookName non-empty, timeout default 30s: "timed out
 *   after 30s"; the command is NOT stopped at the timeout, L65-68: it goes on
 *   in the container while Velero moves on). An error is logged "Error
 *   executing hook"; only on-error "Fail" ends the wait and is returned — an
 *   unset on-error behaves as Continue here although the executor logs it as
 *   Fail.
 * - L121-126: a pod that Succeeded or Failed ends the wait (a warning);
 *   L196-200: a deleted pod ends it (an error log).
 * - L210-228: each hook not executed by then is logged "hook <name> in
 *   container <c> in pod <ns>/<name> not executed: <context error>" and
 *   returned only with on-error Fail.
 *
 * pkg/restore/restore.go: waitExec (L1709-1744) starts this for every pod the
 * restore created (L1541-1543), at once; a pod whose hooks return errors
 * cancels the hooks context shared by the whole restore (hooksCancelFunc), so
 * other pods' waits end with "context canceled". The restore waits for all of
 * them after the pod volume restores (L569-579); each error becomes a Velero
 * error of the restore (errors count, PartiallyFailed: restore_controller.go
 * L534-567). Logged errors that are not returned change nothing.
 *
 * The watch is played by polling the pod through the API server and acting
 * on a new resourceVersion, as the informer's update events would.
 */

export interface ExecRestoreHook {
  container: string;
  command: string[];
  onError: '' | 'Continue' | 'Fail';
  execTimeoutMs: number;
  waitTimeoutMs: number;
}

export interface PodExecRestoreHook {
  hookName: string;
  hookSource: 'annotation' | 'backupSpec';
  hook: ExecRestoreHook;
  executed: boolean;
}

/** The restore annotation keys, item_hook_handler.go L59-63. */
export const RESTORE_HOOK_ANNOTATION = {
  container: 'post.hook.restore.velero.io/container',
  command: 'post.hook.restore.velero.io/command',
  onError: 'post.hook.restore.velero.io/on-error',
  execTimeout: 'post.hook.restore.velero.io/exec-timeout',
  waitTimeout: 'post.hook.restore.velero.io/wait-timeout',
} as const;

const onErrorMode = (value: string | undefined): ExecRestoreHook['onError'] => (value === 'Continue' || value === 'Fail' ? value : '');

/** getPodExecRestoreHookFromAnnotations (L448-488). Warnings: unparsable timeouts, ignored. */
export function restoreExecHookFromAnnotations(annotations: Record<string, string> | undefined, warnings: string[]): ExecRestoreHook | undefined {
  const all = annotations ?? {};
  const command = all[RESTORE_HOOK_ANNOTATION.command] ?? '';
  if (command === '') return undefined;
  const duration = (value: string | undefined, what: string): number => {
    if (value === undefined || value === '') return 0;
    const parsed = parseGoDuration(value);
    if (parsed !== undefined) return parsed;
    warnings.push(`Unable to parse ${what} timeout ${value}, ignoring`);
    return 0;
  };
  return {
    container: all[RESTORE_HOOK_ANNOTATION.container] ?? '',
    command: parseHookCommand(command),
    onError: onErrorMode(all[RESTORE_HOOK_ANNOTATION.onError]),
    execTimeoutMs: duration(all[RESTORE_HOOK_ANNOTATION.execTimeout], 'exec'),
    waitTimeoutMs: duration(all[RESTORE_HOOK_ANNOTATION.waitTimeout], 'wait'),
  };
}

export interface RestoredPod {
  metadata: { namespace?: string; name: string; uid: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { name: string }[] };
  status?: { phase?: string; containerStatuses?: { name: string; state?: { running?: unknown } }[] };
}

/** GroupRestoreExecHooks (L500-555): the pod's hooks by container, in order. */
export function groupRestoreExecHooks(hooks: RestoreHooksSpec | undefined, pod: RestoredPod, warnings: string[]): Map<string, PodExecRestoreHook[]> {
  const byContainer = new Map<string, PodExecRestoreHook[]>();
  const first = pod.spec?.containers?.[0]?.name;
  if (first === undefined) return byContainer;
  const fromAnnotation = restoreExecHookFromAnnotations(pod.metadata.annotations, warnings);
  if (fromAnnotation) {
    if (fromAnnotation.container === '') fromAnnotation.container = first;
    byContainer.set(fromAnnotation.container, [{ hookName: '<from-annotation>', hookSource: 'annotation', hook: fromAnnotation, executed: false }]);
    return byContainer;
  }
  for (const rh of hooks?.resources ?? []) {
    if (!includesExcludes(rh.includedNamespaces, rh.excludedNamespaces, pod.metadata.namespace ?? '')) continue;
    if (!selectorMatches(rh.labelSelector, pod.metadata.labels ?? {})) continue;
    for (const post of rh.postHooks ?? []) {
      const exec = post.exec;
      if (!exec) continue;
      const hook: ExecRestoreHook = {
        container: exec.container || first,
        command: [...(exec.command ?? [])],
        onError: onErrorMode(exec.onError),
        // metav1.Duration fields: Go duration strings.
        execTimeoutMs: exec.execTimeout ? parseGoDuration(exec.execTimeout) ?? 0 : 0,
        waitTimeoutMs: exec.waitTimeout ? parseGoDuration(exec.waitTimeout) ?? 0 : 0,
      };
      byContainer.set(hook.container, [...(byContainer.get(hook.container) ?? []), { hookName: rh.name ?? '', hookSource: 'backupSpec', hook, executed: false }]);
    }
  }
  return byContainer;
}

/** Go's time.Duration.String for whole milliseconds ("1s", "1m30s", "500ms"). */
export function goDurationString(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** What HandleHooks needs from the stand-in. */
export interface WaitExecHookDeps {
  /** The pod as the API server has it now; undefined when it is gone (the watch's delete event). */
  readPod(namespace: string, name: string): Promise<RestoredPod | undefined>;
  /** The data node that runs the pod (its kubelet serves exec), if any. */
  nodeFor(pod: RestoredPod): NodeRuntime | undefined;
  /** A line for the restore's log. */
  log(line: string): void;
  /** Waits one poll interval; throws when the stand-in stops. */
  poll(): Promise<void>;
}

/** The restore's hooksContext: cancelled by hooksCancelFunc when any pod's hooks return errors. */
export class HooksContext {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

/** Long enough never to end a command: Velero does not stop one at its exec timeout. */
const EXEC_NEVER_STOPPED_MS = 24 * 3_600_000;

/** ExecutePodCommand (pod_command_executor.go L69-177) against the pod as last seen. Returns the error, if any. */
async function executePodCommand(deps: WaitExecHookDeps, pod: RestoredPod, named: PodExecRestoreHook, log: (line: string) => void): Promise<string | undefined> {
  if ((pod.metadata.namespace ?? '') === '') return 'namespace is required';
  if (named.hookName === '') return 'hookName is required';
  const { hook } = named;
  if (!(pod.spec?.containers ?? []).some((c) => c.name === hook.container)) return `no such container: "${hook.container}"`;
  if (hook.command.length === 0) return 'command is required';
  const timeoutMs = hook.execTimeoutMs > 0 ? hook.execTimeoutMs : DEFAULT_HOOK_TIMEOUT_MS;
  log(`level=info msg="running exec hook" hookName=${named.hookName} hookContainer=${hook.container} hookCommand=${JSON.stringify(hook.command)} hookOnError=${hook.onError || 'Fail'} hookTimeout=${goDurationString(timeoutMs)}`);
  const node = deps.nodeFor(pod);
  // The pods/exec request reaches the pod's kubelet; only a data node's runs a real process.
  if (!node) return `stand-in: pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name} is on node "${pod.spec?.nodeName ?? ''}", which serves no exec`;
  const running = node.exec({ namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid }, hook.container, hook.command, EXEC_NEVER_STOPPED_MS);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  // The command may end (or fail) after Velero stopped waiting for it: nobody listens then.
  running.catch(() => undefined);
  let result: ExecResult | 'timeout';
  try {
    result = await Promise.race([running, timedOut]);
  } catch (err) {
    return (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
  if (result === 'timeout') return `timed out after ${goDurationString(timeoutMs)}`;
  log(`level=info msg="stdout: ${result.stdout}" hookName=${named.hookName}`);
  log(`level=info msg="stderr: ${result.stderr}" hookName=${named.hookName}`);
  // The SPDY executor's error for a non-zero exit.
  if (result.exitCode !== 0) return `command terminated with exit code ${result.exitCode ?? 'unknown'}`;
  return undefined;
}

/**
 * WaitExecHookHandler.HandleHooks (wait_exec_hook_handler.go L65-231) for one restored pod.
 * Returns the errors Velero returns (those of hooks with on-error Fail).
 */
export async function handleRestoreExecHooks(deps: WaitExecHookDeps, pod: RestoredPod, byContainer: Map<string, PodExecRestoreHook[]>, hooksContext: HooksContext): Promise<string[]> {
  const podId = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
  for (const container of [...byContainer.keys()]) {
    if (!(pod.spec?.containers ?? []).some((c) => c.name === container)) {
      deps.log(`level=warning msg="Pod ${podId} does not have container ${container}: discarding post-restore exec hooks"`);
      byContainer.delete(container);
    }
  }
  if (byContainer.size === 0) return [];

  // maxHookWait: 0 (no limit) as soon as one hook has no wait timeout.
  const waits = [...byContainer.values()].flat().map((h) => h.hook.waitTimeoutMs);
  const maxWait = waits.some((w) => w <= 0) ? 0 : Math.max(...waits);
  const waitStart = Date.now();
  /** ctx.Err() of the handler's context once it is done. */
  let ctxErr: string | undefined;
  const cancel = (): void => {
    ctxErr ??= 'context canceled';
  };
  const errors: string[] = [];
  const hookLog = (named: PodExecRestoreHook, line: string): void => deps.log(`${line} pod=${podId} hookSource=${named.hookSource} hookType=exec hookPhase=post`);

  /** The informer's handler (L109-186) for the pod as it is now. */
  const handler = async (newPod: RestoredPod): Promise<void> => {
    if (newPod.status?.phase === 'Succeeded' || newPod.status?.phase === 'Failed') {
      deps.log(`level=warning msg="pod entered phase ${newPod.status.phase} before some post-restore exec hooks ran" pod=${podId}`);
      cancel();
      return;
    }
    for (const [container, hooks] of [...byContainer]) {
      const status = newPod.status?.containerStatuses?.find((c) => c.name === container);
      if (status?.state?.running === undefined || status.state.running === null) {
        deps.log(`level=info msg="Container ${container} is not running: post-restore hooks will not yet be executed" pod=${podId}`);
        continue;
      }
      for (const named of hooks) {
        named.executed = true;
        if (named.hook.waitTimeoutMs !== 0 && Date.now() - waitStart > named.hook.waitTimeoutMs) {
          const err = `hook ${named.hookName} in container ${named.hook.container} expired before executing`;
          hookLog(named, `level=error msg="${err}"`);
          if (named.hook.onError === 'Fail') {
            errors.push(err);
            cancel();
            return;
          }
          // No `continue` in v1.11.1: the expired hook runs all the same.
        }
        const err = await executePodCommand(deps, newPod, named, (line) => hookLog(named, line));
        if (err !== undefined) {
          hookLog(named, `level=error msg="Error executing hook" error="${err}"`);
          if (named.hook.onError === 'Fail') {
            errors.push(err);
            cancel();
            return;
          }
        }
      }
      byContainer.delete(container);
    }
    if (byContainer.size === 0) cancel();
  };

  let seenVersion: string | undefined;
  while (ctxErr === undefined) {
    if (hooksContext.cancelled) {
      ctxErr = 'context canceled';
      break;
    }
    if (maxWait > 0 && Date.now() - waitStart >= maxWait) {
      ctxErr = 'context deadline exceeded';
      break;
    }
    const current = await deps.readPod(pod.metadata.namespace ?? '', pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid) {
      deps.log(`level=error msg="pod ${podId} deleted before all hooks were executed"`);
      cancel();
      break;
    }
    // The informer calls the handler on add and on each update, not on an unchanged object.
    if (current.metadata.resourceVersion !== seenVersion) {
      seenVersion = current.metadata.resourceVersion;
      await handler(current);
      if (ctxErr !== undefined) break;
    }
    await deps.poll();
  }

  for (const hooks of byContainer.values()) {
    for (const named of hooks) {
      if (named.executed) continue;
      const err = `hook ${named.hookName} in container ${named.hook.container} in pod ${podId} not executed: ${ctxErr ?? 'context canceled'}`;
      hookLog(named, `level=error msg="${err}"`);
      if (named.hook.onError === 'Fail') errors.push(err);
    }
  }
  return errors;
}
