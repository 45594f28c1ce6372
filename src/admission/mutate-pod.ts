import type { CompiledPolicy, CompiledRule, HookKind } from '../policy/compiled-policy.js';
import { HOOK_PREFIX } from '../policy/hook-kinds.js';
import { hasOwnHookKeys, hookAnnotations, userOwnsHook } from './hook-annotations.js';
import { matchRule } from './match-rule.js';
import { MANAGED_ANNOTATION, managedMarker, withoutOwned } from './ownership.js';
import type { Container, Pod } from './pod.js';
import { resolveServiceId, SERVICE_ID_LABEL } from './service-id.js';
import { dataDirOf, FSB_EXCLUDE_ANNOTATION, FSB_INCLUDE_ANNOTATION, isHostPathVolume, isPvcVolume, selectFsbVolumes } from './volumes.js';
import { legacyBackupHookKeys, LEGACY_BACKUP_HOOK_PREFIX } from './velero-hook-rules.js';
import type { MutationWarning } from './warnings.js';

/** A pod (or its namespace) opts out with this label set to "false". */
export const INJECT_LABEL = 'backup.wutong.io/inject';

export type PodMutation =
  | { handled: false; skipReason: string }
  | {
      handled: true;
      /** The labels and annotations the pod should have: the user's untouched, the webhook's (recorded in MANAGED_ANNOTATION) brought up to date. */
      labels: Record<string, string>;
      annotations: Record<string, string>;
      added: { labels: number; fsb: number; hooks: number };
      warnings: MutationWarning[];
      /** Short facts for the API server's audit log. */
      audit: Record<string, string>;
    };

interface Selected {
  rule: CompiledRule;
  container: Container;
  dataDir: string | undefined;
}

function selectRule(
  rules: readonly CompiledRule[],
  namespace: string,
  pod: Pod,
  labels: Record<string, string>,
  warnings: MutationWarning[],
): Selected | undefined {
  const containers = pod.spec?.containers ?? [];
  const volumes = pod.spec?.volumes ?? [];
  for (const rule of rules) {
    const match = matchRule(rule, namespace, labels, containers);
    if (match.kind === 'no-container' && rule.targeted) {
      warnings.push({
        reason: 'container-not-found',
        message: `rule "${rule.name}" selects this pod but it has no ${match.wanted}; its hooks were not added`,
      });
    }
    if (match.kind !== 'matched') continue;
    const dataDir = dataDirOf(match.container, volumes);
    if (dataDir === undefined && rule.hooks.some((h) => h.command.needsDataDir)) {
      warnings.push({
        reason: 'no-data-volume',
        message: `rule "${rule.name}" writes into {{dataDir}} but container "${match.container.name}" mounts no persistent volume; its hooks were not added`,
      });
      continue;
    }
    return { rule, container: match.container, dataDir };
  }
  return undefined;
}

/**
 * The whole admission decision, as a pure function: what labels and
 * annotations this pod should carry under this policy, and what to warn
 * about. Nothing the user set is changed; what the webhook set itself is
 * recomputed, so running it again on its own output changes nothing, and
 * running it after another webhook added a volume brings the list up to date.
 */
export function mutatePod(pod: Pod, policy: CompiledPolicy, namespace: string): PodMutation {
  const originalLabels = pod.metadata?.labels ?? {};
  if (originalLabels[INJECT_LABEL] === 'false') return { handled: false, skipReason: `label ${INJECT_LABEL}=false` };
  for (const [key, value] of policy.podSelector) {
    if (originalLabels[key] !== value) return { handled: false, skipReason: `not selected: ${key}!=${value}` };
  }

  const originalAnnotations = pod.metadata?.annotations ?? {};
  const labels = { ...originalLabels };
  // What the user wrote is what is left once the webhook's own, unedited keys are taken back.
  const userAnnotations = withoutOwned(originalAnnotations);
  const annotations = { ...userAnnotations };
  const written: Array<[string, string]> = [];
  const set = (key: string, value: string): boolean => {
    annotations[key] = value;
    written.push([key, value]);
    return originalAnnotations[key] !== value;
  };
  const warnings: MutationWarning[] = [];
  const audit: Record<string, string> = {};
  const added = { labels: 0, fsb: 0, hooks: 0 };

  const serviceId = resolveServiceId(pod, originalLabels);
  if (serviceId.warning) warnings.push(serviceId.warning);
  if (serviceId.add !== undefined) {
    labels[SERVICE_ID_LABEL] = serviceId.add;
    added.labels++;
  }

  const volumes = pod.spec?.volumes ?? [];
  for (const volume of volumes) {
    if (isHostPathVolume(volume)) {
      warnings.push({
        reason: 'host-path-volume',
        message: `volume "${volume.name}" is a hostPath: Velero file-system backup cannot back it up`,
      });
    }
  }

  // The include list is what this project's Backups read (they set
  // defaultVolumesToFsBackup false, so Velero copies exactly what it names);
  // the exclude list serves Backups others make in Velero's opt-out mode. A
  // user's include list is theirs alone; a user's exclude list is honoured by
  // the include list written next to it.
  if (userAnnotations[FSB_INCLUDE_ANNOTATION] === undefined) {
    const userExclude = userAnnotations[FSB_EXCLUDE_ANNOTATION];
    const fsb = selectFsbVolumes(volumes, policy.fsbMode, policy.includeEmptyDir, userExclude?.split(',') ?? []);
    // The user's own exclude list stands as it is; ours is written only in its absence.
    const exclude = userExclude === undefined ? (fsb.exclude ?? []) : [];
    if (fsb.include.length > 0 && set(FSB_INCLUDE_ANNOTATION, fsb.include.join(','))) added.fsb++;
    if (exclude.length > 0 && set(FSB_EXCLUDE_ANNOTATION, exclude.join(','))) added.fsb++;
    if (fsb.include.length > 0 || exclude.length > 0) {
      audit['fsb-volumes'] = [`include:${fsb.include.join(',')}`, ...(exclude.length > 0 ? [`exclude:${exclude.join(',')}`] : [])].join(';');
    }
  }

  // autoProfiles: a profile picked by image, only when no rule of the policy took the pod.
  const selected =
    selectRule(policy.rules, namespace, pod, originalLabels, warnings) ??
    (policy.autoRules ? selectRule(policy.autoRules, namespace, pod, originalLabels, warnings) : undefined);
  if (selected) {
    const injected: HookKind[] = [];
    // A profile's hooks only work together (its restore hook imports the
    // dump its pre hook wrote, its post hook lifts the block its pre hook
    // set): when the pod has its own annotations for any of them, the
    // profile adds none.
    const profileDeclined =
      selected.rule.profile !== undefined && selected.rule.hooks.some((h) => userOwnsHook(h.kind, userAnnotations));
    for (const hook of selected.rule.hooks) {
      if (profileDeclined || userOwnsHook(hook.kind, userAnnotations)) continue;
      for (const [key, value] of hookAnnotations(hook, selected.container, selected.dataDir)) {
        if (set(key, value)) added.hooks++;
      }
      injected.push(hook.kind);
    }
    const legacyKept = legacyHookWarning(selected.rule, userAnnotations);
    if (legacyKept) warnings.push(legacyKept);
    audit.rule = selected.rule.name;
    audit['hook-container'] = selected.container.name;
    if (injected.length > 0) audit.hooks = injected.join(',');
  } else if (volumes.some(isPvcVolume) && !hasUserBackupHook(userAnnotations)) {
    warnings.push({
      reason: 'crash-consistent-only',
      message: 'pod has persistent volumes but no hook rule matched: its backup will be crash-consistent only',
    });
  }

  const legacyIgnored = legacyIgnoredWarning(userAnnotations);
  if (legacyIgnored) warnings.push(legacyIgnored);

  if (written.length > 0) annotations[MANAGED_ANNOTATION] = managedMarker(written);
  return { handled: true, labels, annotations, added, warnings, audit };
}

const PRE_BACKUP_COMMAND = `${HOOK_PREFIX['pre-backup']}command`;

/**
 * Velero v1.11.1 runs the legacy `hook.backup.velero.io/*` keys as the pre
 * hook only while `pre.hook.backup.velero.io/command` is absent
 * (internal/hook/item_hook_handler.go L214-219). The webhook therefore never
 * writes `pre.*` keys next to them (userOwnsHook); this says so when a rule
 * had a pre-backup hook for the pod, so the user knows whose hook runs.
 */
function legacyHookWarning(rule: CompiledRule, user: Record<string, string>): MutationWarning | undefined {
  if (legacyBackupHookKeys(user).length === 0 || hasOwnHookKeys('pre-backup', user)) return undefined;
  if (!rule.hooks.some((h) => h.kind === 'pre-backup')) return undefined;
  const profile = rule.profile !== undefined ? `, and profile ${rule.profile} adds none of its hooks (they only work together)` : '';
  return {
    reason: 'legacy-hook',
    message: `the pod's own pre-backup hook in Velero's legacy keys ${LEGACY_BACKUP_HOOK_PREFIX}* is kept: rule "${rule.name}" adds no ${HOOK_PREFIX['pre-backup']}* keys, since Velero would run ${PRE_BACKUP_COMMAND} instead of the pod's hook${profile}`,
  };
}

/** The pod has both: Velero runs its `pre.*` command and never the legacy keys (L214-219). */
function legacyIgnoredWarning(user: Record<string, string>): MutationWarning | undefined {
  if (legacyBackupHookKeys(user).length === 0 || !user[PRE_BACKUP_COMMAND]) return undefined;
  return {
    reason: 'legacy-hook',
    message: `Velero never runs this pod's legacy ${LEGACY_BACKUP_HOOK_PREFIX}* keys: it uses them only when ${PRE_BACKUP_COMMAND} is absent, and the pod has one`,
  };
}

function hasUserBackupHook(annotations: Record<string, string>): boolean {
  return userOwnsHook('pre-backup', annotations) || userOwnsHook('post-backup', annotations);
}
