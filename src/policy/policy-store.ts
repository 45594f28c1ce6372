import type { CompiledPolicy } from './compiled-policy.js';

/**
 * The policy admission answers from. Replaced whole, atomically, when a
 * source delivers a valid new version; admission never waits on I/O.
 */
export class PolicyStore {
  #current: CompiledPolicy;

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
  }
}
