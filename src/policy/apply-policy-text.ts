import type { Logger } from 'pino';
import { policyGeneration, policyValid } from '../observability/metrics.js';
import { loadPolicy } from './load-policy.js';
import { PolicyError } from './policy-error.js';
import type { PolicyStore } from './policy-store.js';

/**
 * Every policy source ends here: a valid document replaces the policy in
 * force, an invalid one is logged with its field paths and leaves the last
 * good policy serving. Returns the error so sources can report it further.
 */
export function applyPolicyText(store: PolicyStore, text: string, source: string, log: Logger): PolicyError | undefined {
  try {
    const policy = loadPolicy(text, source, store.nextGeneration());
    store.replace(policy);
    policyValid.set(1);
    policyGeneration.set(policy.generation);
    log.info({ source, generation: policy.generation, rules: policy.rules.length }, 'policy loaded');
    return undefined;
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    policyValid.set(0);
    log.error(
      { source, issues: err.issues, inForce: store.current().source, generation: store.current().generation },
      'policy rejected; keeping the last good policy',
    );
    return err;
  }
}
