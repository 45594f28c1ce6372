import { stringify } from 'yaml';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';
import { loadCliPolicy } from './load-cli-policy.js';
import { mutateManifest, type ManifestMutation } from './mutate-manifest.js';
import { parseOptions } from './parse-options.js';
import { readManifests } from './read-manifests.js';

export const MUTATE_USAGE = `Usage: wutong-backup mutate -f FILE [options]

Prints each Pod as the webhook would admit it: with the labels and
annotations it adds. For a Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job or CronJob (which the webhook never sees: it
mutates their pods) the pod template shows what each pod will carry. Other
objects pass through unchanged. Needs no cluster. Warnings go to stderr.

Options:
  -f, --filename FILE   YAML or JSON, one or more documents; "-" reads stdin.
                        May be given more than once.
      --policy FILE     Hook policy to apply (default: the built-in policy,
                        manifests/base/policy.yaml)
  -n, --namespace NAME  Namespace for objects that name none (default "default")
  -o, --output FORMAT   yaml (default), json, or patch: the webhook's JSON
                        Patch, one JSON array per object and line, with paths
                        into that object (under the pod template for workloads)
  -h, --help            Show this help
`;

const OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  policy: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = ['yaml', 'json', 'patch'] as const;
type Format = (typeof FORMATS)[number];

function render(mutations: readonly ManifestMutation[], format: Format): string {
  if (format === 'patch') return mutations.map((m) => `${JSON.stringify(m.patch)}\n`).join('');
  const objects = mutations.map((m) => m.output);
  if (format === 'json') {
    const value = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** Warnings and skips, named by object, like kubectl prints admission warnings. */
export function reportNotes(mutations: readonly ManifestMutation[], io: CliIo): void {
  for (const m of mutations) {
    if (m.subject === undefined) continue;
    if (m.review?.outcome === 'skipped') io.stderr.write(`${m.subject.name}: left unchanged (${m.review.skipReason ?? 'skipped'})\n`);
    for (const warning of m.warnings) io.stderr.write(`Warning: ${m.subject.name}: ${warning}\n`);
  }
}

export async function runMutateCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, OPTIONS, 'mutate');
  if (values.help) {
    io.stdout.write(MUTATE_USAGE);
    return 0;
  }
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('mutate needs -f FILE (or -f - for stdin)', 'mutate');
  const format = values.output ?? 'yaml';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`unknown output format "${format}"; use yaml, json or patch`, 'mutate');
  }
  const policy = loadCliPolicy(values.policy);
  const manifests = await readManifests(files, io.stdin);
  const mutations = manifests.map((m) => mutateManifest(m, policy, values.namespace));
  io.stdout.write(render(mutations, format as Format));
  reportNotes(mutations, io);
  return 0;
}
