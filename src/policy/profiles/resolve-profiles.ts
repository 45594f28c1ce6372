import type { HookPolicyDocument, HookRule } from '../hook-policy-schema.js';
import { ruleHook } from '../hook-policy-schema.js';
import { HOOK_KINDS, type HookGroup, type HookSlot } from '../hook-kinds.js';
import type { PolicyIssue } from '../policy-error.js';
import type { HookProfile } from './hook-profile.js';
import { findProfile, PROFILES } from './profile-registry.js';

type Hook = Record<string, unknown> & { command?: string[]; shell?: string; disabled?: true };

/** Rule names autoProfiles gives its rules; "/" keeps them apart from any rule a policy can name. */
export function autoRuleName(profile: string): string {
  return `auto/${profile}`;
}

function profileHook(profile: HookProfile, group: HookGroup, slot: HookSlot, removeAfterBackup: boolean): Hook | undefined {
  const hooks = profile[group] as Record<string, Hook | undefined>;
  const own = hooks[slot];
  if (own !== undefined) return own;
  return group === 'backup' && slot === 'post' && removeAfterBackup ? profile.cleanup : undefined;
}

/**
 * The rule's fields over the profile's, one by one; a command or shell in
 * the rule replaces the profile's script whichever form it had.
 */
function mergeHook(base: Hook | undefined, override: Hook | undefined): Hook | undefined {
  if (override === undefined) return base;
  if (override.disabled) return undefined;
  const fields: Hook = { ...override };
  delete fields.disabled;
  const merged: Hook = { ...base };
  if (fields.command !== undefined || fields.shell !== undefined) {
    delete merged.command;
    delete merged.shell;
  }
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) merged[key] = value;
  return merged;
}

/**
 * A rule as admission uses it: its profile's hooks with the rule's
 * overrides applied, and the profile's image as match when the rule names
 * no container. A rule without a profile comes back unchanged.
 */
export function resolveRule(
  rule: HookRule,
  index: number,
  removeAfterBackup: boolean,
): { rule: HookRule; issues: PolicyIssue[] } {
  const profile = rule.profile === undefined ? undefined : findProfile(rule.profile);
  if (profile === undefined) return { rule, issues: [] };
  const issues: PolicyIssue[] = [];
  const groups: Record<'backup' | 'restore', Record<string, Hook>> = { backup: {}, restore: {} };
  for (const { group, slot } of HOOK_KINDS) {
    const override = ruleHook(rule, group, slot) as Hook | undefined;
    const hook = mergeHook(profileHook(profile, group, slot, removeAfterBackup), override);
    if (hook === undefined) continue;
    if (hook.command === undefined && hook.shell === undefined) {
      // Only a backup.post override of a profile whose post hook is its
      // cleanup gets here, when dumps.removeAfterBackup is off.
      issues.push({
        path: `rules[${index}].${group}.${slot}.command`,
        message: `set exactly one of command or shell (profile ${profile.name} deletes its dump after backup only with dumps.removeAfterBackup: true)`,
      });
      continue;
    }
    groups[group][slot] = hook;
  }
  const match = rule.match ?? {};
  const namesContainer = match.containers !== undefined || match.image !== undefined;
  const resolved: HookRule = {
    ...rule,
    match: namesContainer || profile.image === undefined ? match : { ...match, image: profile.image },
    backup: groups.backup,
    restore: groups.restore,
  };
  return { rule: resolved, issues };
}

/** Every rule resolved against its profile, or the problems found doing so. */
export function resolveProfiles(doc: HookPolicyDocument): { doc: HookPolicyDocument; issues: PolicyIssue[] } {
  const issues: PolicyIssue[] = [];
  const rules = doc.rules.map((rule, index) => {
    const result = resolveRule(rule, index, doc.dumps.removeAfterBackup);
    issues.push(...result.issues);
    return result.rule;
  });
  return { doc: { ...doc, rules }, issues };
}

/** The profiles autoProfiles tries, in registry order: all with an image for `true`, else the ones listed. */
export function autoProfileList(setting: boolean | readonly string[]): HookProfile[] {
  if (setting === false) return [];
  return PROFILES.filter((p) => p.image !== undefined && (setting === true || setting.includes(p.name)));
}

/** One resolved rule per auto profile, matching by the profile's image only. */
export function autoProfileRules(doc: HookPolicyDocument): HookRule[] {
  return autoProfileList(doc.autoProfiles).map(
    (profile) => resolveRule({ name: autoRuleName(profile.name), profile: profile.name }, -1, doc.dumps.removeAfterBackup).rule,
  );
}
