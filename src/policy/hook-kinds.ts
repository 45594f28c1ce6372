/**
 * The four hook kinds Velero reads from pod annotations: the one table every
 * other part (policy schema, profiles, compiled templates, admission,
 * explain) derives its kinds, policy slots and annotation prefixes from.
 */
export const HOOK_KINDS = [
  { kind: 'pre-backup', group: 'backup', slot: 'pre', prefix: 'pre.hook.backup.velero.io/' },
  { kind: 'post-backup', group: 'backup', slot: 'post', prefix: 'post.hook.backup.velero.io/' },
  { kind: 'post-restore', group: 'restore', slot: 'post', prefix: 'post.hook.restore.velero.io/' },
  { kind: 'init-restore', group: 'restore', slot: 'init', prefix: 'init.hook.restore.velero.io/' },
] as const;

export type HookKindInfo = (typeof HOOK_KINDS)[number];
export type HookKind = HookKindInfo['kind'];
/** Where a hook sits in a policy rule: `backup.pre`, `restore.init`... */
export type HookGroup = HookKindInfo['group'];
export type HookSlot = HookKindInfo['slot'];

export const HOOK_PREFIX: Readonly<Record<HookKind, string>> = Object.fromEntries(
  HOOK_KINDS.map((k) => [k.kind, k.prefix]),
) as Record<HookKind, string>;
