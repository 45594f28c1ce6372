// Two rules of how Velero reads a pod's backup hook annotations that the
// webhook, explain and the docs must follow exactly (vmware-tanzu/velero
// v1.11.1 internal/hook/item_hook_handler.go; unchanged at v1.18.1).

/**
 * Velero's legacy backup hook keys, without a phase: `hook.backup.velero.io/command`
 * and friends. HandleHooks (L214-219) reads them for the pre phase, and only
 * when the pod has no `pre.hook.backup.velero.io/command`: a pod that carries
 * them has its own pre-backup hook, which a `pre.*` command written next to it
 * would silently replace.
 */
export const LEGACY_BACKUP_HOOK_PREFIX = 'hook.backup.velero.io/';

/** The pod's legacy backup hook keys (none: an empty list). */
export function legacyBackupHookKeys(annotations: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.entries(annotations).filter(([key]) => key.startsWith(LEGACY_BACKUP_HOOK_PREFIX));
}

export type HookErrorMode = 'Fail' | 'Continue';

/**
 * What Velero does when a backup or restore exec hook from annotations fails,
 * given its `on-error` value. Only an exact "Fail" fails the item: anything
 * else, unset included, is read as "" (getPodExecHookFromAnnotations
 * L312-315, getPodExecRestoreHookFromAnnotations L456-459) and HandleHooks
 * goes on (L230; the restore side internal/hook/wait_exec_hook_handler.go
 * L160, L174, L224). pkg/podexec/pod_command_executor.go L105-111 defaults
 * its own copy to Fail and logs "hookOnError=Fail", but the caller decides
 * on the original, so an unset on-error is Continue, whatever that log line
 * and Velero's docs (site/content/docs/v1.11/backup-hooks.md: "Defaults is
 * Fail") say.
 */
export function effectiveOnError(value: string | undefined): HookErrorMode {
  return value === 'Fail' ? 'Fail' : 'Continue';
}
