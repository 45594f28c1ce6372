import type { BackupTtl } from '../velero/backup-ttl.js';
import type { HookKind } from './hook-kinds.js';

export type { HookKind } from './hook-kinds.js';

/**
 * The in-memory form the webhook answers from: regular expressions built and
 * annotation values pre-rendered once at load, so admission does no parsing.
 */
export interface CompiledPolicy {
  /** Counts valid loads; lets logs and metrics say which policy answered. */
  generation: number;
  /** Where it came from: a file path, a ConfigMap, or "built-in default". */
  source: string;
  podSelector: ReadonlyArray<readonly [string, string]>;
  fsbMode: 'opt-in' | 'opt-out';
  includeEmptyDir: boolean;
  rules: readonly CompiledRule[];
  /** autoProfiles: rules built from profiles, tried by image when no rule matched. Absent when off. */
  autoRules?: readonly CompiledRule[];
}

export interface CompiledRule {
  name: string;
  /** The profile the rule's hooks come from, if any (for explain and audit). */
  profile?: string;
  namespaces: ReadonlySet<string> | undefined;
  labels: ReadonlyArray<readonly [string, string]>;
  containers: readonly string[] | undefined;
  image: RegExp | undefined;
  /** Whether the rule was aimed at particular pods (labels or namespaces): only then is a missing container worth a warning. */
  targeted: boolean;
  hooks: readonly HookTemplate[];
  /** The Schedule the controller keeps for each component the rule matches; absent: the rule protects nothing. */
  protection?: RuleProtection;
}

export interface RuleProtection {
  /** Velero Schedule.spec.schedule (robfig cron, checked by backup-cron.ts). */
  schedule: string;
  ttl: BackupTtl;
  /** Completed backups retention keeps per component; absent: only Velero's TTL prunes. */
  keep?: number;
  /** Hold a changed pod template's rollout until a backup of the running version completes. */
  backupBeforeUpgrade: boolean;
  /** The longest a rollout is held, whatever the backup does. */
  upgradeHoldLimitMs: number;
  /** Back up the data at rest, through a holder pod, once after each stop that follows a run. */
  backupOnStop: boolean;
  /** The longest a deleted PVC waits for the data guard (src/components/protection-keys.ts DATA_GUARD_FINALIZER). */
  deletionHoldLimitMs: number;
}

export interface HookTemplate {
  kind: HookKind;
  /** Annotation prefix, e.g. "pre.hook.backup.velero.io/". */
  prefix: string;
  /** Fixed annotations (suffix → value), e.g. on-error, timeout. */
  fixed: ReadonlyArray<readonly [string, string]>;
  /** The command annotation value; `{{dataDir}}` already escaped for its context. */
  command: RenderedValue;
  /** init-restore only: image of the init container; undefined means the matched container's image. */
  image: string | undefined;
  initContainerName: string | undefined;
}

/** A string that may need the matched container's data directory substituted in. */
export interface RenderedValue {
  needsDataDir: boolean;
  render(dataDir: string | undefined): string;
}
