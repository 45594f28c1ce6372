import type { Logger } from 'pino';
import type { ControllerLoop } from './controller-loop.js';
import type { LeaderElector } from './leader-elector.js';

/**
 * Runs the loops while this replica leads: triggers are subscribed on every
 * replica (cheap, and a new leader starts with nothing to catch up on but
 * its first full pass), queues dispatch only while leading, and every loop
 * is fed all its keys on gaining leadership and each resync, which is what
 * makes the loops level-based: a missed trigger costs at most one resync.
 */
export function runController(loops: readonly ControllerLoop[], elector: LeaderElector, log: Logger): { stop(): void } {
  const unwatch = loops.map((loop) => loop.watch());
  const resyncs: NodeJS.Timeout[] = [];
  const feed = (loop: ControllerLoop): void => {
    for (const key of loop.keys()) loop.queue.add(key);
  };
  const lead = (): void => {
    log.info({ loops: loops.map((l) => l.queue.name) }, 'leading: controller loops started');
    for (const loop of loops) {
      loop.queue.start();
      feed(loop);
      const timer = setInterval(() => feed(loop), loop.resyncMs);
      timer.unref();
      resyncs.push(timer);
    }
  };
  const follow = (): void => {
    for (const loop of loops) loop.queue.stop();
    for (const timer of resyncs.splice(0)) clearInterval(timer);
    log.info('not leading: controller loops stopped');
  };
  const unsubscribe = elector.subscribe((leading) => (leading ? lead() : follow()));
  if (elector.isLeader()) lead();
  return {
    stop() {
      unsubscribe();
      for (const loop of loops) loop.queue.stop();
      for (const timer of resyncs.splice(0)) clearInterval(timer);
      for (const u of unwatch) u();
    },
  };
}
