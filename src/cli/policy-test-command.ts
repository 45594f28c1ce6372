import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import type { CliIo } from './cli-io.js';
import { CliError, UsageError } from './cli-error.js';
import { diffMutation, expectedMutationSchema } from './expected-mutation.js';
import { loadCliPolicy } from './load-cli-policy.js';
import { mutateManifest } from './mutate-manifest.js';
import { parseOptions } from './parse-options.js';
import { parseManifests } from './read-manifests.js';
import { readText } from './read-text.js';

export const POLICY_TEST_USAGE = `Usage: wutong-backup policy test DIR

Runs the test cases in DIR, like \`kyverno test\`. A case is a folder holding:
  pod.yaml       the input: a Pod, or a workload whose pod template is used
  expected.yaml  what the webhook must do:
                   labels:      exact labels it adds (all of them)
                   annotations: exact annotations it adds (all of them); a
                                value may be { contains: TEXT } for scripts
                   absent:      keys the mutated pod must not carry
                   warnings:    one substring per warning (all of them)
                 Sections left out are not checked.
  policy.yaml    optional; else DIR/policy.yaml, else the built-in policy
DIR may itself be a case. Prints PASS or FAIL per case, with the differences
("-" expected, "+" got), and exits 1 if any case fails.

Options:
  -h, --help   Show this help
`;

const OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

interface TestCase {
  name: string;
  dir: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function findCases(dir: string): TestCase[] {
  if (!isDirectory(dir)) throw new CliError(`${dir}: no such directory`);
  if (existsSync(join(dir, 'pod.yaml'))) return [{ name: basename(dir), dir }];
  const cases = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'pod.yaml')))
    .map((entry) => ({ name: entry.name, dir: join(dir, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (cases.length === 0) throw new CliError(`${dir}: no test cases (a case is a folder with pod.yaml and expected.yaml)`);
  return cases;
}

/** Returns the problems of one case; empty when it passes. Errors in its files are failures of that case only. */
function runCase(testCase: TestCase, suiteDir: string, policies: Map<string, CompiledPolicy>): string[] {
  try {
    const policyFile = [join(testCase.dir, 'policy.yaml'), join(suiteDir, 'policy.yaml')].find((f) => existsSync(f));
    const key = policyFile ?? '';
    let policy = policies.get(key);
    if (policy === undefined) {
      policy = loadCliPolicy(policyFile);
      policies.set(key, policy);
    }
    const podFile = join(testCase.dir, 'pod.yaml');
    const manifests = parseManifests(readText(podFile), podFile);
    if (manifests.length !== 1) return [`${podFile}: expected one object, found ${manifests.length}`];
    const expectedFile = join(testCase.dir, 'expected.yaml');
    if (!existsSync(expectedFile)) return [`${expectedFile}: missing`];
    const parsed = parseDocument(readText(expectedFile), { prettyErrors: true, uniqueKeys: true });
    if (parsed.errors.length > 0) return [`${expectedFile}: invalid YAML: ${parsed.errors[0]?.message.split('\n')[0] ?? ''}`];
    const expected = expectedMutationSchema.safeParse(parsed.toJS() ?? {});
    if (!expected.success) {
      return expected.error.issues.map((i) => `${expectedFile}: ${i.path.map(String).join('.') || '(top)'}: ${i.message}`);
    }
    const mutation = mutateManifest(manifests[0] as (typeof manifests)[number], policy, undefined);
    if (mutation.subject === undefined) return [`${podFile}: has no pod (expected a Pod or a workload)`];
    return diffMutation(expected.data, {
      addedLabels: mutation.addedLabels,
      addedAnnotations: mutation.addedAnnotations,
      labels: mutation.podAfter?.metadata?.labels ?? {},
      annotations: mutation.podAfter?.metadata?.annotations ?? {},
      warnings: mutation.warnings,
    });
  } catch (err) {
    if (err instanceof CliError) return [...err.lines];
    throw err;
  }
}

export function runPolicyTestCommand(args: string[], io: CliIo): number {
  const { values, positionals } = parseOptions(args, OPTIONS, 'policy test', true);
  if (values.help) {
    io.stdout.write(POLICY_TEST_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('policy test needs exactly one directory', 'policy test');
  const dir = positionals[0] ?? '';
  const cases = findCases(dir);
  const policies = new Map<string, CompiledPolicy>();
  let failed = 0;
  for (const testCase of cases) {
    const problems = runCase(testCase, dir, policies);
    if (problems.length === 0) {
      io.stdout.write(`PASS ${testCase.name}\n`);
    } else {
      failed++;
      io.stdout.write(`FAIL ${testCase.name}\n${problems.map((p) => `    ${p}\n`).join('')}`);
    }
  }
  io.stdout.write(`\n${cases.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}
