import type { CompiledPolicy } from './compiled-policy.js';

/**
 * The policy admission answers from. Replaced whole, atomically, when a
 * source delivers a valid new version; admission never waits on I/O.
 */
export class PolicyStore {
  #current: CompiledPolicy;
  readonly #listeners = new Set<(policy: CompiledPolicy) => void>();

  constructor(initial: CompiledPolicy) {
    this.#current = initial;
  }

  current(): CompiledPolicy {
    return this.#current;
  }

  /** Generation the next valid load should carry. */
  nextGeneration(): number {
    return this.#current.generation + 1;
  }

  replace(policy: CompiledPolicy): void {
    this.#current = policy;
    for (const listener of this.#listeners) listener(policy);
  }

  /** Called after each replace: the controller re-reconciles what a policy decides (schedules, backfill). */
  subscribe(listener: (policy: CompiledPolicy) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
