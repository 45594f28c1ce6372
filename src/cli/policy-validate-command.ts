import { compilePolicy, parsePolicyText } from '../policy/load-policy.js';
import type { CompiledRule } from '../policy/compiled-policy.js';
import { PolicyError } from '../policy/policy-error.js';
import { describeProtection } from '../policy/rule-protection.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';
import { issueLine } from './load-cli-policy.js';
import { parseOptions } from './parse-options.js';
import { readText } from './read-text.js';

export const POLICY_VALIDATE_USAGE = `Usage: wutong-backup policy validate FILE...

Checks hook policy files the way the webhook does before it uses one. Prints
a summary per valid file; for an invalid one, prints every problem on its own
line as FILE: FIELD: MESSAGE (e.g. rules[1].profile: unknown profile "mysq")
and exits 1.

Options:
  -h, --help   Show this help
`;

const OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

/** "orders-db (profile mysql; protection: schedule 0 3 * * *, ttl 30d, keep 7)". */
function ruleSummary(rule: CompiledRule): string {
  const notes = [
    ...(rule.profile !== undefined ? [`profile ${rule.profile}`] : []),
    ...(rule.protection !== undefined ? [`protection: ${describeProtection(rule.protection)}`] : []),
  ];
  return notes.length > 0 ? `${rule.name} (${notes.join('; ')})` : rule.name;
}

export function runPolicyValidateCommand(args: string[], io: CliIo): number {
  const { values, positionals } = parseOptions(args, OPTIONS, 'policy validate', true);
  if (values.help) {
    io.stdout.write(POLICY_VALIDATE_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('policy validate needs the policy file to check', 'policy validate');
  let failed = false;
  for (const file of positionals) {
    try {
      const doc = parsePolicyText(readText(file), file);
      const policy = compilePolicy(doc, file, 1);
      const rules = policy.rules.map(ruleSummary);
      const auto = policy.autoRules?.map((r) => r.profile ?? r.name).join(', ') ?? 'off';
      io.stdout.write(
        `${file}: valid; ${rules.length} rule${rules.length === 1 ? '' : 's'}${rules.length > 0 ? `: ${rules.join(', ')}` : ''}; ` +
          `autoProfiles: ${auto}; dumps.removeAfterBackup: ${String(doc.dumps.removeAfterBackup)}\n`,
      );
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      failed = true;
      for (const issue of err.issues) io.stderr.write(`${file}: ${issueLine(issue)}\n`);
    }
  }
  return failed ? 1 : 0;
}
