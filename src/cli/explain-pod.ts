import { containerMatches, matchRule, podMismatch, type PodMismatch } from '../admission/match-rule.js';
import { userOwnsHook } from '../admission/hook-annotations.js';
import { effectiveOnError, legacyBackupHookKeys, LEGACY_BACKUP_HOOK_PREFIX } from '../admission/velero-hook-rules.js';
import { withoutOwned, writtenAnnotations } from '../admission/ownership.js';
import type { Container, Pod } from '../admission/pod.js';
import { dataDirOf, FSB_EXCLUDE_ANNOTATION as FSB_EXCLUDE, FSB_INCLUDE_ANNOTATION as FSB_INCLUDE } from '../admission/volumes.js';
import { protectionFor } from '../controller/component-protection.js';
import type { CompiledPolicy, CompiledRule } from '../policy/compiled-policy.js';
import { describeProtection } from '../policy/rule-protection.js';
import { HOOK_KINDS, type HookKind } from '../policy/hook-kinds.js';
import type { ManifestMutation } from './mutate-manifest.js';

// Everything here is derived from the webhook's own answer (handleReview)
// and its own matching functions; explain only puts words to them.

export type RuleVerdict = 'selected' | 'no-match' | 'not-used' | 'not-evaluated';

export interface RuleExplanation {
  name: string;
  profile: string | undefined;
  /** Built by autoProfiles rather than written in the policy. */
  auto: boolean;
  verdict: RuleVerdict;
  reason: string;
}

export interface HookExplanation {
  kind: HookKind;
  /** "policy": written by the webhook from the policy (this time, or again: it is its own); "pod": the user's, kept as they are. */
  source: 'policy' | 'pod';
  annotations: Array<[string, string]>;
  /** What Velero makes of these annotations where a reader could guess wrong (legacy keys, an unset on-error). */
  notes: string[];
}

export interface PodExplanation {
  subject: string;
  namespace: string;
  skipReason: string | undefined;
  rules: RuleExplanation[];
  autoProfiles: 'off' | 'not needed' | 'tried';
  container: string | undefined;
  dataDir: string | undefined;
  fsb: string;
  hooks: HookExplanation[];
  /** Why a profile's hooks were left out although its rule matched. */
  hookNote: string | undefined;
  addedLabels: Record<string, string>;
  warnings: string[];
  /** Whether the controller keeps a Schedule for this pod's component, and by which rule. */
  protection: string;
}


function describeContainers(containers: readonly Container[]): string {
  if (containers.length === 0) return 'the pod has no containers';
  return `the pod has ${containers.map((c) => `${c.name} (${c.image ?? 'no image'})`).join(', ')}`;
}

function describeMismatch(rule: CompiledRule, mismatch: PodMismatch, namespace: string): string {
  if (mismatch.kind === 'namespace') return `namespace "${namespace}" is not one of ${[...(rule.namespaces ?? [])].join(', ')}`;
  if (mismatch.got === undefined) return `the pod has no label ${mismatch.key} (the rule wants ${mismatch.key}=${mismatch.want})`;
  return `label ${mismatch.key} is "${mismatch.got}", the rule wants "${mismatch.want}"`;
}

function describeChoice(rule: CompiledRule, container: Container): string {
  const how = rule.image
    ? `image ${container.image ?? ''} matches /${rule.image.source}/`
    : `named in the rule's containers`;
  return `hooks run in container "${container.name}" (${how})`;
}

function explainRules(
  rules: readonly CompiledRule[],
  auto: boolean,
  m: ManifestMutation,
  selected: string | undefined,
  state: { decided: boolean },
): RuleExplanation[] {
  const pod = m.podBefore ?? {};
  const labels = pod.metadata?.labels ?? {};
  const containers = pod.spec?.containers ?? [];
  return rules.map((rule) => {
    const base = { name: rule.name, profile: rule.profile, auto };
    if (state.decided) return { ...base, verdict: 'not-evaluated', reason: 'an earlier rule took the pod (first match wins)' };
    const mismatch = podMismatch(rule, m.namespace, labels);
    if (mismatch) return { ...base, verdict: 'no-match', reason: describeMismatch(rule, mismatch, m.namespace) };
    const match = matchRule(rule, m.namespace, labels, containers);
    if (match.kind === 'no-container') {
      const close = rule.image ? containers.filter((c) => rule.containers?.includes(c.name) && !containerMatches(rule, c)) : [];
      const note = close.length > 0 ? ` (${close.map((c) => `${c.name} has image ${c.image ?? 'none'}`).join(', ')})` : '';
      return { ...base, verdict: 'no-match', reason: `no container fits: wants ${match.wanted}; ${describeContainers(containers)}${note}` };
    }
    if (match.kind === 'pod-mismatch') return { ...base, verdict: 'no-match', reason: 'the pod does not fit' };
    if (rule.name === selected) {
      state.decided = true;
      return { ...base, verdict: 'selected', reason: describeChoice(rule, match.container) };
    }
    const why = m.warnings.find((w) => w.includes(`rule "${rule.name}"`));
    return { ...base, verdict: 'not-used', reason: why ?? 'matched, but the webhook did not use it' };
  });
}

/**
 * The pod's annotations split as the webhook sees them: the user's (what is
 * left once its own, unedited keys are taken back) and what it wrote this
 * time. A pod that already carries the webhook's output (mutate output, a
 * restored pod) thus shows the policy's hooks as the policy's.
 */
function ownership(m: ManifestMutation): { user: Record<string, string>; written: Record<string, string> } {
  return {
    user: withoutOwned(m.podBefore?.metadata?.annotations ?? {}),
    written: writtenAnnotations(m.podAfter?.metadata?.annotations ?? {}),
  };
}

/**
 * What a Backup made by wutong-backup copies from the pod: it sets
 * defaultVolumesToFsBackup false, so Velero v1.11.1 reads only the include
 * list (pkg/podvolume/util.go GetVolumesToBackup) and then skips a listed
 * volume the pod does not have or no container mounts
 * (pkg/podvolume/backupper.go L196-222). A PVC bound to a hostPath PV is
 * skipped too, which only the cluster can tell: the backup record names it.
 */
export function volumesCopied(pod: Pod): { copied: string[]; skipped: string[] } {
  const listed = pod.metadata?.annotations?.[FSB_INCLUDE] ?? '';
  const volumes = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  const mounted = new Set((pod.spec?.containers ?? []).flatMap((c) => (c.volumeMounts ?? []).map((mount) => mount.name)));
  const copied: string[] = [];
  const skipped: string[] = [];
  for (const name of listed === '' ? [] : listed.split(',')) (volumes.has(name) && mounted.has(name) ? copied : skipped).push(name);
  return { copied, skipped };
}

/** "Velero copies volumes a, b (why)", then the listed volumes Velero skips. */
function copiedText(pod: Pod, why: string): string {
  const { copied, skipped } = volumesCopied(pod);
  const what = copied.length > 0 ? `volumes ${copied.join(', ')}` : 'no volume';
  const not = skipped.length > 0 ? `; listed but not copied (the pod has no such volume, or no container mounts it): ${skipped.join(', ')}` : '';
  return `Velero copies ${what} (${why})${not}`;
}

const WHY = 'Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false';

function fsbOf(m: ManifestMutation): string {
  const after = m.podAfter ?? m.podBefore ?? {};
  const { user, written } = ownership(m);
  const parts: string[] = [];
  if (user[FSB_INCLUDE] !== undefined) parts.push(`the pod's own ${FSB_INCLUDE}=${user[FSB_INCLUDE]} is kept`);
  else if (written[FSB_INCLUDE] !== undefined) parts.push(`${FSB_INCLUDE}=${written[FSB_INCLUDE]} from the policy`);
  else parts.push(`the policy selects no volume of this pod, so it has no ${FSB_INCLUDE}`);
  if (user[FSB_EXCLUDE] !== undefined) parts.push(`the pod's own ${FSB_EXCLUDE}=${user[FSB_EXCLUDE]} is kept and honoured`);
  else if (written[FSB_EXCLUDE] !== undefined) {
    parts.push(`${FSB_EXCLUDE}=${written[FSB_EXCLUDE]} for Backups others make with --default-volumes-to-fs-backup`);
  }
  return copiedText(after, [...parts, WHY].join('; '));
}

/** A pod the webhook leaves alone: what it carries is what Velero reads. */
function untouchedFsb(m: ManifestMutation): string {
  const pod = m.podBefore ?? {};
  const own = pod.metadata?.annotations?.[FSB_INCLUDE];
  return `untouched; ${copiedText(pod, `${own !== undefined ? `the pod's own ${FSB_INCLUDE}=${own}` : `the pod has no ${FSB_INCLUDE}`}; ${WHY}`)}`;
}

function hooksOf(m: ManifestMutation, rule: CompiledRule | undefined): { hooks: HookExplanation[]; note: string | undefined } {
  const { user, written } = ownership(m);
  const hooks: HookExplanation[] = [];
  const legacy = legacyBackupHookKeys(user);
  for (const { kind, prefix } of HOOK_KINDS) {
    const ours = Object.entries(written).filter(([key]) => key.startsWith(prefix));
    const theirs = Object.entries(user).filter(([key]) => key.startsWith(prefix));
    if (ours.length > 0) hooks.push({ kind, source: 'policy', annotations: ours, notes: onErrorNotes(kind, prefix, ours) });
    else if (theirs.length > 0) hooks.push({ kind, source: 'pod', annotations: theirs, notes: onErrorNotes(kind, prefix, theirs) });
    else if (kind === 'pre-backup' && legacy.length > 0) {
      hooks.push({
        kind,
        source: 'pod',
        annotations: legacy,
        notes: [
          `Velero's legacy keys (${LEGACY_BACKUP_HOOK_PREFIX}*, no phase): Velero v1.11.1 runs them as the pre-backup hook because ${prefix}command is absent (internal/hook/item_hook_handler.go L214-219), so the policy adds no ${prefix}* keys`,
          ...onErrorNotes(kind, LEGACY_BACKUP_HOOK_PREFIX, legacy),
        ],
      });
    }
  }
  if (legacy.length > 0 && user[`${HOOK_KINDS[0].prefix}command`]) {
    hooks.push({ kind: 'pre-backup', source: 'pod', annotations: legacy, notes: [`never run by Velero: it uses these legacy keys only when ${HOOK_KINDS[0].prefix}command is absent (item_hook_handler.go L214-219)`] });
  }
  const owned = rule?.hooks.filter((h) => userOwnsHook(h.kind, user)) ?? [];
  const note =
    rule?.profile !== undefined && owned.length > 0 && owned.length < rule.hooks.length
      ? `profile ${rule.profile} added no hook: the pod has its own ${owned.map((h) => h.kind).join(', ')} annotations, and a profile's hooks only work together`
      : undefined;
  return { hooks, note };
}

/**
 * An exec hook without `on-error` goes on after a failure in Velero, whatever
 * Velero's docs and its own log line say (velero-hook-rules.ts): say so, since
 * a reader of the annotations would expect Fail.
 */
function onErrorNotes(kind: HookKind, prefix: string, annotations: ReadonlyArray<[string, string]>): string[] {
  if (kind === 'init-restore') return [];
  const value = annotations.find(([key]) => key === `${prefix}on-error`)?.[1];
  if (effectiveOnError(value) === 'Fail' || value === 'Continue') return [];
  const what = value === undefined ? 'no on-error' : `on-error "${value}" (neither Fail nor Continue)`;
  return [`${what}: a failure of this hook is logged and Velero goes on (Continue), although its docs say Fail (Velero v1.11.1 internal/hook/item_hook_handler.go L230, L312-315)`];
}

/** The controller's choice (component-protection.ts) for a component whose pods look like this one. */
function protectionText(m: ManifestMutation, policy: CompiledPolicy): string {
  const pod = m.podBefore ?? {};
  const found = protectionFor(policy, m.namespace, pod.metadata?.labels ?? {}, pod.spec?.containers ?? []);
  return found === undefined
    ? 'none: no rule with protection matches, so no Schedule is kept for this component'
    : `protected by rule ${found.rule}: ${describeProtection(found)}`;
}

/** What the webhook did to one pod (or pod template) and why. */
export function explainPod(m: ManifestMutation, policy: CompiledPolicy): PodExplanation {
  const review = m.review;
  const skipped = review?.outcome === 'skipped';
  const audit = review?.response.auditAnnotations ?? {};
  const selected = audit.rule;
  const state = { decided: false };
  const rules = skipped ? [] : explainRules(policy.rules, false, m, selected, state);
  let autoProfiles: PodExplanation['autoProfiles'] = policy.autoRules ? 'not needed' : 'off';
  if (!skipped && !state.decided && policy.autoRules) {
    autoProfiles = 'tried';
    rules.push(...explainRules(policy.autoRules, true, m, selected, state));
  }
  const rule = [...policy.rules, ...(policy.autoRules ?? [])].find((r) => r.name === selected);
  const container = m.podBefore?.spec?.containers?.find((c) => c.name === audit['hook-container']);
  const { hooks, note } = skipped ? { hooks: [], note: undefined } : hooksOf(m, rule);
  return {
    subject: m.subject?.name ?? '(no pod)',
    namespace: m.namespace,
    skipReason: skipped ? (review?.skipReason ?? 'skipped') : undefined,
    rules,
    autoProfiles,
    container: container?.name,
    dataDir: container ? dataDirOf(container, m.podBefore?.spec?.volumes ?? []) : undefined,
    fsb: skipped ? untouchedFsb(m) : fsbOf(m),
    hooks,
    hookNote: note,
    addedLabels: m.addedLabels,
    warnings: m.warnings,
    protection: protectionText(m, policy),
  };
}
