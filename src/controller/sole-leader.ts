import type { LeaderElector } from './leader-elector.js';

/** Placeholder until Lease-based election is wired: this replica always leads (single replica only). */
export function soleLeader(): LeaderElector {
  let leading = false;
  const listeners = new Set<(leading: boolean) => void>();
  const set = (value: boolean): void => {
    leading = value;
    for (const l of listeners) l(value);
  };
  return {
    start: () => set(true),
    stop: () => {
      set(false);
      return Promise.resolve();
    },
    isLeader: () => leading,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
