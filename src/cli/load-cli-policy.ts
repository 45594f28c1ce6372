import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { loadDefaultPolicy } from '../policy/default-policy.js';
import { loadPolicy } from '../policy/load-policy.js';
import { PolicyError, type PolicyIssue } from '../policy/policy-error.js';
import { CliError } from './cli-error.js';
import { readText } from './read-text.js';

export function issueLine(issue: PolicyIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** --policy FILE, or the built-in policy the webhook ships with. Every problem is one line naming the field. */
export function loadCliPolicy(file: string | undefined): CompiledPolicy {
  if (file === undefined) return loadDefaultPolicy();
  const text = readText(file);
  try {
    return loadPolicy(text, file, 1);
  } catch (err) {
    if (err instanceof PolicyError) throw new CliError(err.issues.map((issue) => `${file}: ${issueLine(issue)}`));
    throw err;
  }
}
