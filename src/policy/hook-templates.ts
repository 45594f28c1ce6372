import type { CompiledRule, HookTemplate, RenderedValue } from './compiled-policy.js';
import type { HookRule } from './hook-policy-schema.js';
import type { BackupHook, HookCommand, RestoreExecHook, RestoreInitHook } from './hook-schema.js';
import { HOOK_PREFIX } from './hook-kinds.js';
import { compileProtection } from './rule-protection.js';
import { shellQuote } from './shell-quote.js';

/** The one placeholder a hook command may use: the mount path of the matched container's first persistent volume. */
export const DATA_DIR_PLACEHOLDER = '{{dataDir}}';
const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
/** Every spelling unknownPlaceholders accepts as dataDir, "{{ dataDir }}" included, so none passes validation unsubstituted. */
const DATA_DIR = /\{\{\s*dataDir\s*\}\}/g;

/** Names of placeholders other than dataDir, so the policy loader can reject typos. */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((name) => name !== 'dataDir');
}

function fixedValue(value: string): RenderedValue {
  return { needsDataDir: false, render: () => value };
}

/**
 * Renders a hook's command as the JSON argv Velero expects. Velero never runs
 * a shell itself, so `shell:` becomes ["/bin/sh","-c",script]; in a script the
 * data directory is shell-quoted, in an argv it is a plain element.
 */
export function renderCommand(hook: HookCommand): RenderedValue {
  const argv = hook.shell !== undefined ? ['/bin/sh', '-c', hook.shell] : (hook.command ?? []);
  const quote = hook.shell !== undefined ? shellQuote : (v: string) => v;
  const needsDataDir = argv.some((arg) => arg.match(DATA_DIR) !== null);
  if (!needsDataDir) return fixedValue(JSON.stringify(argv));
  // A cluster has few distinct data directories per rule (/var/lib/mysql,
  // /data…): remember the rendered value instead of re-serialising the script
  // on every admission. Bounded so hostile mount paths cannot grow it forever.
  const rendered = new Map<string, string>();
  return {
    needsDataDir,
    render: (dataDir) => {
      const key = dataDir ?? '';
      const cached = rendered.get(key);
      if (cached !== undefined) return cached;
      const dir = quote(key);
      // A replacer function, so "$&" or "$1" in a mount path stays literal.
      const value = JSON.stringify(argv.map((arg) => arg.replace(DATA_DIR, () => dir)));
      if (rendered.size >= RENDER_CACHE_SIZE) rendered.clear();
      rendered.set(key, value);
      return value;
    },
  };
}

const RENDER_CACHE_SIZE = 256;

const SHELLS = /(^|\/)(sh|bash|ash|dash|zsh|ksh)$/;

/**
 * In `command:` the data directory is inserted as it is, which is right for
 * an argv but not for a script handed to a shell there: a mount path with
 * `;` or `$(...)` would run as code. Such scripts belong in `shell:`, where
 * the path is quoted. Returns the index of the offending element.
 */
export function unquotedDataDirInShell(command: readonly string[] | undefined): number | undefined {
  if (!command || !SHELLS.test(command[0] ?? '')) return undefined;
  const index = command.findIndex((arg, i) => i > 0 && arg.match(DATA_DIR) !== null);
  return index > 0 ? index : undefined;
}

function pairs(entries: Array<[string, string | undefined]>): Array<readonly [string, string]> {
  return entries.filter((e): e is [string, string] => e[1] !== undefined);
}

function backupTemplate(kind: 'pre-backup' | 'post-backup', hook: BackupHook): HookTemplate {
  return {
    kind,
    prefix: HOOK_PREFIX[kind],
    fixed: pairs([
      ['on-error', hook.onError],
      ['timeout', hook.timeout],
    ]),
    command: renderCommand(hook),
    image: undefined,
    initContainerName: undefined,
  };
}

function restoreExecTemplate(hook: RestoreExecHook): HookTemplate {
  return {
    kind: 'post-restore',
    prefix: HOOK_PREFIX['post-restore'],
    fixed: pairs([
      ['on-error', hook.onError],
      ['exec-timeout', hook.execTimeout],
      ['wait-timeout', hook.waitTimeout],
    ]),
    command: renderCommand(hook),
    image: undefined,
    initContainerName: undefined,
  };
}

function restoreInitTemplate(rule: string, hook: RestoreInitHook): HookTemplate {
  return {
    kind: 'init-restore',
    prefix: HOOK_PREFIX['init-restore'],
    fixed: [],
    command: renderCommand(hook),
    image: hook.image,
    initContainerName: hook.containerName ?? `restore-${rule}`.slice(0, 63).replace(/-+$/, ''),
  };
}

export function hookTemplates(rule: HookRule): HookTemplate[] {
  const templates: HookTemplate[] = [];
  if (rule.backup?.pre) templates.push(backupTemplate('pre-backup', rule.backup.pre));
  if (rule.backup?.post) templates.push(backupTemplate('post-backup', rule.backup.post));
  if (rule.restore?.post) templates.push(restoreExecTemplate(rule.restore.post));
  if (rule.restore?.init) templates.push(restoreInitTemplate(rule.name, rule.restore.init));
  return templates;
}

export function compileRule(rule: HookRule): CompiledRule {
  // A rule naming a profile may leave match out; load-policy fills in the profile's image.
  const match = rule.match ?? {};
  return {
    name: rule.name,
    ...(rule.profile !== undefined ? { profile: rule.profile } : {}),
    namespaces: match.namespaces ? new Set(match.namespaces) : undefined,
    labels: Object.entries(match.labels ?? {}),
    containers: match.containers,
    image: match.image !== undefined ? new RegExp(match.image) : undefined,
    targeted: match.labels !== undefined || match.namespaces !== undefined,
    hooks: hookTemplates(rule),
    ...(rule.protection !== undefined ? { protection: compileProtection(rule.protection) } : {}),
  };
}
