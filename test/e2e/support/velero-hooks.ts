import { parseGoDuration } from './go-duration.js';
import type { NodeRuntime } from './node-runtime.js';

/**
 * VELERO'S HOOKS (test helper, part of the Velero stand-in), as
 * vmware-tanzu/velero v1.11.1 runs them:
 *
 * Backup exec hooks from pod annotations (internal/hook/item_hook_handler.go):
 * - HandleHooks L214-219: `<phase>.hook.backup.velero.io/command` (phase pre
 *   or post); for the pre phase only, the legacy keys without a phase
 *   (`hook.backup.velero.io/command`) when there is no pre key.
 * - getPodExecHookFromAnnotations L305-333: command is a JSON array or one
 *   string; container, on-error (only "Continue" or "Fail", else empty),
 *   timeout (a Go duration; unparsable: default, with a warning).
 * - L230 / L312-315: an error is logged at Error level ("Error executing
 *   hook"); the item's backup fails with it only when on-error is exactly
 *   "Fail" — an unset on-error goes on, although
 *   pkg/podexec/pod_command_executor.go defaults its own copy to Fail.
 * - pkg/podexec/pod_command_executor.go ExecutePodCommand: container default =
 *   the pod's first container, else it must exist ("no such container");
 *   timeout default 30s ("timed out after 30s"); stdout and stderr are logged;
 *   a non-zero exit is an error ("command terminated with exit code N", the
 *   SPDY executor's).
 *
 * Restore init hooks (InitContainerRestoreHookHandler L102-180): restore-wait
 * stays first when it is the first init container; then the init container
 * from the pod's `init.hook.restore.velero.io/*` annotations, else those of
 * every spec.hooks.resources[] whose selector matches (namespace after
 * namespaceMapping, includedResources, labelSelector); then the pod's own.
 */

export type HookPhase = 'pre' | 'post';

export interface ExecHook {
  container: string;
  command: string[];
  onError: '' | 'Continue' | 'Fail';
  timeoutMs: number;
}

/** pkg/podexec/pod_command_executor.go defaultTimeout. */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/** item_hook_handler.go parseStringToCommand. */
export function parseHookCommand(value: string): string[] {
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
    } catch {
      // not JSON: the whole value is the command
    }
  }
  return [value];
}

/** getPodExecHookFromAnnotations for `phase` ('' = the legacy keys). Warnings: an unparsable timeout. */
function hookFromAnnotations(annotations: Record<string, string>, phase: HookPhase | '', warnings: string[]): ExecHook | undefined {
  const key = (k: string): string | undefined => annotations[phase ? `${phase}.hook.backup.velero.io/${k}` : `hook.backup.velero.io/${k}`];
  const command = key('command') ?? '';
  if (command === '') return undefined;
  const onErrorRaw = key('on-error') ?? '';
  const onError = onErrorRaw === 'Continue' || onErrorRaw === 'Fail' ? onErrorRaw : '';
  let timeoutMs = 0;
  const timeout = key('timeout') ?? '';
  if (timeout !== '') {
    const parsed = parseGoDuration(timeout);
    if (parsed === undefined) warnings.push(`Unable to parse provided timeout ${timeout}, using default`);
    else timeoutMs = parsed;
  }
  return { container: key('container') ?? '', command: parseHookCommand(command), onError, timeoutMs };
}

/** HandleHooks L214-219: the pod's hook of this phase from its annotations, if any. */
export function backupHookFromAnnotations(annotations: Record<string, string> | undefined, phase: HookPhase, warnings: string[] = []): ExecHook | undefined {
  const all = annotations ?? {};
  return hookFromAnnotations(all, phase, warnings) ?? (phase === 'pre' ? hookFromAnnotations(all, '', warnings) : undefined);
}

export interface HookPod {
  metadata: { namespace?: string; name: string; uid: string };
  spec?: { containers?: { name: string }[] };
}

export interface HookOutcome {
  /** Lines for the backup log (Velero's hookLog). */
  log: string[];
  /** The error Velero logs ("Error executing hook"), if the hook failed. */
  error?: string;
  /** The item's backup fails (on-error "Fail"). */
  failsItem: boolean;
}

/** ExecutePodCommand through the node's exec, then HandleHooks' on-error rule. */
export async function runBackupHook(node: NodeRuntime, pod: HookPod, hook: ExecHook, phase: HookPhase): Promise<HookOutcome> {
  const log: string[] = [];
  const fail = (error: string): HookOutcome => {
    log.push(`level=error msg="Error executing hook" hookPhase=${phase} hookSource=annotation error="${error}"`);
    return { log, error, failsItem: hook.onError === 'Fail' };
  };
  const containers = pod.spec?.containers ?? [];
  let container = hook.container;
  if (container === '') {
    if (containers.length < 1) return fail('need at least 1 container');
    container = containers[0]?.name ?? '';
  } else if (!containers.some((c) => c.name === container)) {
    return fail(`no such container: "${container}"`);
  }
  if (hook.command.length === 0) return fail('command is required');
  const timeoutMs = hook.timeoutMs > 0 ? hook.timeoutMs : DEFAULT_HOOK_TIMEOUT_MS;
  log.push(`level=info msg="running exec hook" hookPhase=${phase} hookContainer=${container} hookCommand=${JSON.stringify(hook.command)} hookOnError=${hook.onError || 'Fail'} hookTimeout=${timeoutMs}ms`);
  let result;
  try {
    result = await node.exec({ namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid }, container, hook.command, timeoutMs);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (result.timedOut) return fail(`timed out after ${timeoutMs / 1000}s`);
  log.push(`level=info msg="stdout: ${result.stdout}" hookPhase=${phase}`, `level=info msg="stderr: ${result.stderr}" hookPhase=${phase}`);
  if (result.exitCode !== 0) return fail(`command terminated with exit code ${result.exitCode ?? 'unknown'}`);
  return { log, failsItem: false };
}

// ---- restore init hooks ----

export interface InitContainer { name: string; image?: string; command?: string[]; [field: string]: unknown }

interface RestoreHookSelectorSpec {
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  labelSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
}
/** A Restore's spec.hooks.resources[].postHooks[].exec (pkg/apis/velero/v1/restore_types.go ExecRestoreHook; durations as Go strings). */
export interface ExecRestoreHookSpec { container?: string; command?: string[]; onError?: string; execTimeout?: string; waitTimeout?: string }
export interface RestoreHooksSpec {
  resources?: (RestoreHookSelectorSpec & { name?: string; postHooks?: { init?: { initContainers?: InitContainer[] }; exec?: ExecRestoreHookSpec }[] })[];
}

/** collections.IncludesExcludes.ShouldInclude: excluded wins; an empty or "*" include list takes all. */
export function includesExcludes(included: readonly string[] | undefined, excluded: readonly string[] | undefined, value: string, aliases: readonly string[] = []): boolean {
  const names = [value, ...aliases];
  if ((excluded ?? []).some((e) => names.includes(e))) return false;
  const inc = included ?? [];
  return inc.length === 0 || inc.includes('*') || inc.some((i) => names.includes(i));
}

/** labels.Selector.Matches for a metav1.LabelSelector. */
export function selectorMatches(selector: RestoreHookSelectorSpec['labelSelector'], labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? '';
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(value))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(value)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * HandleRestoreHooks for a pod about to be created: its init containers in Velero's order.
 * `namespace` is the pod's namespace in the backup; the selector sees it after namespaceMapping.
 */
export function initContainersWithRestoreHooks(
  pod: { namespace: string; labels: Record<string, string>; annotations: Record<string, string>; initContainers: InitContainer[] },
  hooks: RestoreHooksSpec | undefined,
  namespaceMapping: Record<string, string> | undefined,
  uniqueSuffix: () => string,
): InitContainer[] {
  const rest = [...pod.initContainers];
  const out: InitContainer[] = [];
  if (rest[0]?.name === 'restore-wait') out.push(rest.shift() as InitContainer);
  const image = pod.annotations['init.hook.restore.velero.io/container-image'] ?? '';
  if (image !== '') {
    const command = pod.annotations['init.hook.restore.velero.io/command'] ?? '';
    const name = pod.annotations['init.hook.restore.velero.io/container-name'] || `velero-restore-init-${uniqueSuffix()}`;
    // parseStringToCommand("") would index an empty string; Velero's own tests always give a command.
    out.push({ image, name, ...(command === '' ? {} : { command: parseHookCommand(command) }) });
  } else {
    const namespace = namespaceMapping?.[pod.namespace] ?? pod.namespace;
    for (const rh of hooks?.resources ?? []) {
      if (!includesExcludes(rh.includedNamespaces, rh.excludedNamespaces, namespace)) continue;
      if (!includesExcludes(rh.includedResources, rh.excludedResources, 'pods', ['pod', 'po'])) continue;
      if (!selectorMatches(rh.labelSelector, pod.labels)) continue;
      for (const hook of rh.postHooks ?? []) out.push(...(hook.init?.initContainers ?? []));
    }
  }
  return [...out, ...rest];
}
