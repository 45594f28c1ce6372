import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';
import { explainPod, type HookExplanation, type PodExplanation, type RuleExplanation } from './explain-pod.js';
import { loadCliPolicy } from './load-cli-policy.js';
import { mutateManifest } from './mutate-manifest.js';
import { parseOptions } from './parse-options.js';
import { readManifests } from './read-manifests.js';

export const EXPLAIN_USAGE = `Usage: wutong-backup explain -f FILE [options]

Explains, for each Pod (or pod template of a workload) in FILE, what the
webhook does and why: whether the policy handles the pod, which rule and
profile matched and why the rules before it did not, the container and data
directory the hooks use, which volumes file-system backup copies, every hook
annotation (scripts shown in full), every warning, and which rule's
protection (scheduled backups) covers the pod's component. Needs no cluster.

Options:
  -f, --filename FILE   YAML or JSON, one or more documents; "-" reads stdin.
                        May be given more than once.
      --policy FILE     Hook policy to apply (default: the built-in policy)
  -n, --namespace NAME  Namespace for objects that name none (default "default")
  -h, --help            Show this help
`;

const OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  policy: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

const VERDICTS: Record<RuleExplanation['verdict'], string> = {
  selected: 'SELECTED',
  'no-match': 'no match',
  'not-used': 'matched but not used',
  'not-evaluated': 'not evaluated',
};

function ruleLine(rule: RuleExplanation, index: number): string {
  const profile = rule.profile !== undefined && !rule.auto ? ` [profile ${rule.profile}]` : '';
  const name = rule.auto ? `profile ${rule.profile ?? rule.name}` : `${index + 1}. ${rule.name}${profile}`;
  return `    ${name}: ${VERDICTS[rule.verdict]}: ${rule.reason}`;
}

/** A hook command as a reader wants it: a shell script line by line, an argv as JSON. */
function commandLines(value: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(value);
  } catch {
    return [value];
  }
  if (Array.isArray(argv) && argv.length === 3 && argv[0] === '/bin/sh' && argv[1] === '-c' && typeof argv[2] === 'string') {
    return ['/bin/sh -c with this script:', ...argv[2].replace(/\n$/, '').split('\n').map((line) => `  | ${line}`)];
  }
  return [value];
}

function hookLines(hook: HookExplanation): string[] {
  const out = [`    ${hook.kind}${hook.source === 'pod' ? ", the pod's own annotations, kept as they are" : ', from the policy'}:`];
  for (const [key, value] of hook.annotations) {
    if (key.endsWith('/command')) {
      const [first, ...rest] = commandLines(value);
      out.push(`      ${key}: ${first ?? ''}`, ...rest.map((line) => `        ${line}`));
    } else {
      out.push(`      ${key}: ${value}`);
    }
  }
  for (const note of hook.notes) out.push(`      note: ${note}`);
  return out;
}

export function formatExplanation(e: PodExplanation): string {
  const lines = [`${e.subject} in namespace ${e.namespace}`];
  if (e.skipReason !== undefined) {
    lines.push(`  not handled: ${e.skipReason}; the webhook leaves this pod unchanged`, `  file-system backup: ${e.fsb}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push('  handled: the pod matches the policy podSelector');
  const own = e.rules.filter((r) => !r.auto);
  // Profiles after the one picked add nothing to read.
  const auto = e.rules.filter((r) => r.auto && r.verdict !== 'not-evaluated');
  lines.push(own.length > 0 ? '  rules (first match wins):' : '  rules: the policy has none');
  lines.push(...own.map(ruleLine));
  if (e.autoProfiles === 'tried') {
    lines.push('  autoProfiles (no rule took the pod; profiles by image):', ...auto.map(ruleLine));
  } else {
    lines.push(`  autoProfiles: ${e.autoProfiles}`);
  }
  if (e.container !== undefined) {
    lines.push(`  hooks run in container: ${e.container}; {{dataDir}} = ${e.dataDir ?? '(no persistent volume mounted)'}`);
  }
  lines.push(`  file-system backup: ${e.fsb}`);
  const labels = Object.entries(e.addedLabels);
  lines.push(`  labels added: ${labels.length > 0 ? labels.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`);
  if (e.hooks.length > 0) {
    lines.push('  hooks:');
    for (const hook of e.hooks) lines.push(...hookLines(hook));
  } else {
    lines.push('  hooks: none');
  }
  if (e.hookNote !== undefined) lines.push(`  note: ${e.hookNote}`);
  lines.push(`  protection: ${e.protection}`);
  lines.push(e.warnings.length > 0 ? '  warnings:' : '  warnings: none', ...e.warnings.map((w) => `    - ${w}`));
  return `${lines.join('\n')}\n`;
}

export async function runExplainCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, OPTIONS, 'explain');
  if (values.help) {
    io.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('explain needs -f FILE (or -f - for stdin)', 'explain');
  const policy = loadCliPolicy(values.policy);
  const manifests = await readManifests(files, io.stdin);
  const texts: string[] = [];
  for (const manifest of manifests) {
    const mutation = mutateManifest(manifest, policy, values.namespace);
    if (mutation.subject === undefined) {
      const kind = typeof manifest.object.kind === 'string' ? manifest.object.kind : 'object';
      texts.push(`${manifest.source}: a ${kind} has no pod: the webhook never sees it\n`);
      continue;
    }
    texts.push(formatExplanation(explainPod(mutation, policy)));
  }
  io.stdout.write(`policy: ${policy.source}\n\n${texts.join('\n')}`);
  return 0;
}
