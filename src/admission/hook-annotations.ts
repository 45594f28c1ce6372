import type { HookTemplate } from '../policy/compiled-policy.js';
import { HOOK_PREFIX, type HookKind } from '../policy/hook-kinds.js';
import type { Container } from './pod.js';
import { legacyBackupHookKeys } from './velero-hook-rules.js';

/**
 * Annotations for one hook. `container` is always explicit: Velero otherwise
 * runs the hook in the first container, which in Wutong is often a sidecar.
 */
export function hookAnnotations(
  hook: HookTemplate,
  container: Container,
  dataDir: string | undefined,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (hook.kind === 'init-restore') {
    out.push([`${hook.prefix}container-name`, hook.initContainerName ?? 'restore-init']);
    out.push([`${hook.prefix}container-image`, hook.image ?? container.image ?? '']);
  } else {
    out.push([`${hook.prefix}container`, container.name]);
  }
  out.push([`${hook.prefix}command`, hook.command.render(dataDir)]);
  for (const [suffix, value] of hook.fixed) out.push([`${hook.prefix}${suffix}`, value]);
  return out;
}

/**
 * True when the pod already carries any annotation of this hook. The user's
 * hook is then theirs entirely: adding our `container` or `timeout` to their
 * `command` would build a hook neither side wrote. Velero's legacy keys
 * (`hook.backup.velero.io/*`) are the pod's pre-backup hook too: Velero runs
 * them only while `pre.hook.backup.velero.io/command` is absent, so writing
 * ours would silently replace the user's (velero-hook-rules.ts).
 */
export function userOwnsHook(kind: HookKind, annotations: Record<string, string>): boolean {
  return hasOwnHookKeys(kind, annotations) || (kind === 'pre-backup' && legacyBackupHookKeys(annotations).length > 0);
}

/** True when the pod carries an annotation under this hook's own prefix (legacy keys not counted). */
export function hasOwnHookKeys(kind: HookKind, annotations: Record<string, string>): boolean {
  const prefix = HOOK_PREFIX[kind];
  for (const key in annotations) if (key.startsWith(prefix)) return true;
  return false;
}
