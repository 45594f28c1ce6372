import type { ComponentKey } from './component-key.js';

/**
 * Mutual exclusion per component across every replica: check-then-create
 * runs inside it, so two requests (on two replicas) cannot both see "no
 * unfinished backup" and both create one. The API's use cases and the
 * holder's backup at rest (which the controller runs too) take the same
 * lock; src/kube/lease-lock.ts implements it with a Lease per component.
 */
export interface ComponentLock {
  /**
   * Runs `work` holding the component's lock. `shortcut`, when given, runs
   * first whenever this request's turn comes (and may throw, or return an
   * answer that makes taking the lock unnecessary): requests that queued
   * behind one that just created a backup see it in the cache and are
   * answered without another round trip to the API server.
   */
  withLock<T>(component: ComponentKey, work: () => Promise<T>, shortcut?: () => T | undefined): Promise<T>;
}
