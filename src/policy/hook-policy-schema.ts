import { z } from 'zod';
import { BACKUP_CRON_RULE, isBackupCron } from '../velero/backup-cron.js';
import { isKeep, KEEP_RULE } from '../velero/backup-keep.js';
import { HOLD_LIMIT_RULE, holdLimitMs } from './hold-limit.js';
import { BACKUP_TTL_RULE, parseBackupTtl } from '../velero/backup-ttl.js';
import { HOOK_KINDS, type HookGroup, type HookSlot } from './hook-kinds.js';
import { findProfile, PROFILE_NAMES } from './profiles/profile-registry.js';
import { backupHookInRule, dnsLabel, restoreExecHookInRule, restoreInitHookInRule } from './hook-schema.js';

// zod gives every rejection an exact path (rules[2].backup.pre.timeout), which
// is what a platform engineer needs to fix a ConfigMap; hand-written checks
// drift from the TypeScript types, a schema cannot.

/** How long a protection step may hold a rollout or a deletion: long enough for a backup, never for days by a typo. */
const holdLimit = z
  .string({ message: `expected ${HOLD_LIMIT_RULE}` })
  .refine((text) => holdLimitMs(text) !== undefined, { message: `expected ${HOLD_LIMIT_RULE}` });

const regex = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
  }
});

const ruleMatchFields = z.strictObject({
  namespaces: z.array(z.string().min(1)).min(1).optional(),
  /** Exact label equality; service_id is a label like any other. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Names of containers the hooks may run in, in order of preference. */
  containers: z.array(z.string().min(1)).min(1).optional(),
  /** Regular expression tested against the container image. */
  image: regex.optional(),
});

const NAMES_NO_CONTAINER = 'name the container the hooks run in with containers or image';

export const ruleMatchSchema = ruleMatchFields.refine((m) => m.containers !== undefined || m.image !== undefined, {
  message: NAMES_NO_CONTAINER,
});

function unknownProfileMessage(name: string): string {
  return `unknown profile "${name}"; known: ${PROFILE_NAMES.join(', ')}`;
}

type RuleHookGroups = {
  backup?: { pre?: object; post?: object } | undefined;
  restore?: { post?: object; init?: object } | undefined;
};

/** The rule's hook in one slot, as written (`false` already turned into `{ disabled: true }`). */
export function ruleHook(
  rule: RuleHookGroups,
  group: HookGroup,
  slot: HookSlot,
): { command?: string[] | undefined; shell?: string | undefined; disabled?: true | undefined } | undefined {
  const hooks = rule[group] as Record<string, object | undefined> | undefined;
  return hooks?.[slot];
}

/**
 * What a rule must say depends on its profile: without one it names its
 * container and gives complete hooks (exactly as before profiles existed);
 * with one it may leave both to the profile.
 */
function checkRule(
  rule: RuleHookGroups & { profile?: string | undefined; match?: { containers?: unknown; image?: unknown } | undefined },
  ctx: z.RefinementCtx,
): void {
  const profile = rule.profile === undefined ? undefined : findProfile(rule.profile);
  if (rule.profile !== undefined && profile === undefined) {
    ctx.addIssue({ code: 'custom', message: unknownProfileMessage(rule.profile), path: ['profile'] });
    return;
  }
  if (rule.match === undefined && profile === undefined) {
    ctx.addIssue({ code: 'custom', message: 'Invalid input: expected object, received undefined', path: ['match'] });
  } else if (rule.match?.containers === undefined && rule.match?.image === undefined && profile?.image === undefined) {
    const why = profile ? ` (profile ${profile.name} matches no image by itself)` : '';
    ctx.addIssue({ code: 'custom', message: NAMES_NO_CONTAINER + why, path: ['match'] });
  }
  for (const { group, slot } of HOOK_KINDS) {
    const hook = ruleHook(rule, group, slot);
    if (hook === undefined) continue;
    const base = profile?.[group] as Record<string, object | undefined> | undefined;
    const profileHasHook = base?.[slot] !== undefined || (group === 'backup' && slot === 'post' && profile?.cleanup !== undefined);
    if (hook.disabled) {
      if (!profileHasHook) {
        const owner = profile ? `profile ${profile.name} has no ${group}.${slot} hook` : 'the rule names no profile';
        ctx.addIssue({ code: 'custom', message: `false removes a profile's hook, but ${owner}`, path: [group, slot] });
      }
    } else if (hook.command === undefined && hook.shell === undefined && !profileHasHook) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of command or shell', path: [group, slot, 'command'] });
    }
  }
}

/**
 * The Velero Schedule the controller keeps for every component the rule
 * matches. The cron and TTL are checked exactly as the backup API checks a
 * console's schedule, so the policy cannot create a Schedule Velero refuses.
 * The other fields protect the component through its life (README
 * "Backup before upgrade", "Backups of stopped components", "Deletion
 * safety"); their limits bound how long a rollout or a deletion may wait.
 */
export const protectionSchema = z.strictObject({
  schedule: z.string({ message: `expected ${BACKUP_CRON_RULE}` }).refine(isBackupCron, { message: `expected ${BACKUP_CRON_RULE}` }),
  ttl: z
    .string({ message: `expected ${BACKUP_TTL_RULE}` })
    .refine((text) => parseBackupTtl(text) !== undefined, { message: `expected ${BACKUP_TTL_RULE}` })
    .optional(),
  keep: z.unknown().refine(isKeep, { message: `expected ${KEEP_RULE}` }).optional(),
  backupBeforeUpgrade: z.boolean({ message: 'expected true or false' }).optional(),
  upgradeHoldLimit: holdLimit.optional(),
  backupOnStop: z.boolean({ message: 'expected true or false' }).optional(),
  deletionHoldLimit: holdLimit.optional(),
});

export const ruleSchema = z
  .strictObject({
    name: dnsLabel,
    /** A built-in hook set (src/policy/profiles, docs/profiles.md) the hooks below override field by field. */
    profile: z.string().optional(),
    match: ruleMatchFields.optional(),
    backup: z
      .strictObject({ pre: backupHookInRule.optional(), post: backupHookInRule.optional() })
      .optional(),
    restore: z.strictObject({ post: restoreExecHookInRule.optional(), init: restoreInitHookInRule.optional() }).optional(),
    protection: protectionSchema.optional(),
  })
  .superRefine(checkRule);

const autoProfileName = z.string().superRefine((name, ctx) => {
  const profile = findProfile(name);
  if (profile === undefined) ctx.addIssue({ code: 'custom', message: unknownProfileMessage(name) });
  else if (profile.image === undefined) ctx.addIssue({ code: 'custom', message: `profile ${name} has no image to be picked by` });
});

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()),
});

export const hookPolicySchema = z
  .strictObject({
    apiVersion: z.literal('backup.wutong.io/v1alpha1'),
    kind: z.literal('HookPolicy'),
    metadata: z.looseObject({ name: z.string().optional() }).optional(),
    /** Which pods the webhook handles at all. */
    podSelector: labelSelectorSchema.default({ matchLabels: { creator: 'Wutong' } }),
    fileSystemBackup: z
      .strictObject({
        mode: z.enum(['opt-in', 'opt-out']).default('opt-in'),
        /** opt-in only: back up emptyDir volumes too (scratch space is usually not worth it). */
        includeEmptyDir: z.boolean().default(false),
      })
      .default({ mode: 'opt-in', includeEmptyDir: false }),
    /**
     * Where dumps go after the backup. removeAfterBackup adds a post-backup
     * hook deleting them: only safe on Velero >= 1.15.1, where post hooks
     * wait for file-system backup (velero#8159).
     */
    dumps: z
      .strictObject({ removeAfterBackup: z.boolean().default(false) })
      .default({ removeAfterBackup: false }),
    /** When no rule matches: true tries every profile's image, a list only those profiles. */
    autoProfiles: z.union([z.boolean(), z.array(autoProfileName)]).default(false),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    const seen = new Map<string, number>();
    policy.rules.forEach((rule, index) => {
      const first = seen.get(rule.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate rule name "${rule.name}" (first used by rules[${first}])`,
          path: ['rules', index, 'name'],
        });
      } else {
        seen.set(rule.name, index);
      }
    });
  });

export type HookPolicyDocument = z.output<typeof hookPolicySchema>;
export type HookRule = z.output<typeof ruleSchema>;
export type ProtectionDocument = z.output<typeof protectionSchema>;
