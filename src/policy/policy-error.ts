/** One problem in a policy document, located by a path a human can follow. */
export interface PolicyIssue {
  path: string;
  message: string;
}

/** A policy document was rejected; `issues` says exactly where and why. */
export class PolicyError extends Error {
  constructor(
    readonly issues: PolicyIssue[],
    readonly source: string,
  ) {
    super(`${source}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'PolicyError';
  }
}

/** ['rules', 2, 'backup', 'pre', 'timeout'] → "rules[2].backup.pre.timeout" */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
