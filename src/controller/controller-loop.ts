import type { WorkQueue } from './work-queue.js';

/** One reconciler: its queue, what feeds it, and every key it should look at after gaining leadership and on each resync. */
export interface ControllerLoop {
  queue: WorkQueue;
  keys(): Iterable<string>;
  resyncMs: number;
  /** Subscribes the loop's triggers (registry, Velero cache, policy) to queue.add; returns the unsubscribe. */
  watch(): () => void;
}
