import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CompiledPolicy } from './compiled-policy.js';
import { loadPolicy } from './load-policy.js';

/** The policy shipped with the project; the same file kustomize turns into the cluster's ConfigMap. */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../../manifests/base/policy.yaml', import.meta.url));

export function loadDefaultPolicy(generation = 1): CompiledPolicy {
  return loadPolicy(readFileSync(DEFAULT_POLICY_FILE, 'utf8'), 'built-in default', generation);
}
