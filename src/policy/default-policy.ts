import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { CompiledPolicy } from './compiled-policy.js';
import { loadPolicy } from './load-policy.js';

/** The policy shipped with the project; the same file kustomize turns into the cluster's ConfigMap. */
export const DEFAULT_POLICY_FILE = join(PACKAGE_ROOT, 'manifests', 'base', 'policy.yaml');

export function loadDefaultPolicy(generation = 1): CompiledPolicy {
  return loadPolicy(readFileSync(DEFAULT_POLICY_FILE, 'utf8'), 'built-in default', generation);
}
