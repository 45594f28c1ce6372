import { parseDocument } from 'yaml';
import type { CompiledPolicy } from './compiled-policy.js';
import { hookPolicySchema, type HookPolicyDocument } from './hook-policy-schema.js';
import type { HookCommand } from './hook-schema.js';
import { compileRule, unknownPlaceholders, unquotedDataDirInShell } from './hook-templates.js';
import { formatPath, PolicyError, type PolicyIssue } from './policy-error.js';
import { autoProfileRules, resolveProfiles } from './profiles/resolve-profiles.js';

function ruleHooks(doc: HookPolicyDocument): Array<{ where: string; hook: HookCommand }> {
  return doc.rules.flatMap((rule, r) =>
    (
      [
        ['backup.pre', rule.backup?.pre],
        ['backup.post', rule.backup?.post],
        ['restore.post', rule.restore?.post],
        ['restore.init', rule.restore?.init],
      ] as const
    ).flatMap(([where, hook]) => (hook ? [{ where: `rules[${r}].${where}`, hook }] : [])),
  );
}

function commandTexts(doc: HookPolicyDocument): Array<{ path: string; text: string }> {
  return ruleHooks(doc).flatMap(({ where, hook }) => [
    ...(hook.shell !== undefined ? [{ path: `${where}.shell`, text: hook.shell }] : []),
    ...(hook.command ?? []).map((arg, a) => ({ path: `${where}.command[${a}]`, text: arg })),
  ]);
}

function shellInjectionIssues(doc: HookPolicyDocument): PolicyIssue[] {
  return ruleHooks(doc).flatMap(({ where, hook }) => {
    const index = unquotedDataDirInShell(hook.command);
    return index === undefined
      ? []
      : [{ path: `${where}.command[${index}]`, message: 'a script given to a shell must use shell: (which quotes {{dataDir}}), not command:' }];
  });
}

/**
 * Validates a parsed document; throws PolicyError naming every bad field.
 * Rules naming a profile come back resolved: the profile's hooks with the
 * rule's overrides, so everything downstream sees plain rules.
 */
export function validatePolicy(raw: unknown, source: string): HookPolicyDocument {
  const result = hookPolicySchema.safeParse(raw);
  if (!result.success) {
    const issues: PolicyIssue[] = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
    }));
    throw new PolicyError(issues, source);
  }
  const resolved = resolveProfiles(result.data);
  if (resolved.issues.length > 0) throw new PolicyError(resolved.issues, source);
  const placeholderIssues = [
    ...commandTexts(resolved.doc).flatMap(({ path, text }) =>
      unknownPlaceholders(text).map((name) => ({
        path,
        message: `unknown placeholder {{${name}}} (only {{dataDir}} is defined)`,
      })),
    ),
    ...shellInjectionIssues(resolved.doc),
  ];
  if (placeholderIssues.length > 0) throw new PolicyError(placeholderIssues, source);
  return resolved.doc;
}

export function compilePolicy(doc: HookPolicyDocument, source: string, generation: number): CompiledPolicy {
  const autoRules = autoProfileRules(doc).map(compileRule);
  return {
    generation,
    source,
    podSelector: Object.entries(doc.podSelector.matchLabels),
    fsbMode: doc.fileSystemBackup.mode,
    includeEmptyDir: doc.fileSystemBackup.includeEmptyDir,
    rules: doc.rules.map(compileRule),
    ...(autoRules.length > 0 ? { autoRules } : {}),
  };
}

/** YAML text → validated document. YAML syntax errors carry line and column. */
export function parsePolicyText(text: string, source: string): HookPolicyDocument {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new PolicyError(
      document.errors.map((e) => ({ path: '', message: `invalid YAML: ${e.message.split('\n')[0] ?? e.message}` })),
      source,
    );
  }
  const raw: unknown = document.toJS();
  if (raw === null || raw === undefined) throw new PolicyError([{ path: '', message: 'empty policy document' }], source);
  return validatePolicy(raw, source);
}

/** Text → policy ready for admission, or PolicyError. */
export function loadPolicy(text: string, source: string, generation: number): CompiledPolicy {
  return compilePolicy(parsePolicyText(text, source), source, generation);
}
