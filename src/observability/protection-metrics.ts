// LOCAL STAND-IN for the lead's foundation (H-DESIGN.md item 6), H3's metrics only; replaced by main's version on merge.
import { Counter, Gauge } from 'prom-client';
import { registry } from './metrics.js';

let guardedCount: () => number = () => 0;
export const guardedClaims = new Gauge({
  name: 'wutong_backup_guarded_claims',
  help: 'PVCs carrying the data-guard finalizer.',
  registers: [registry],
  collect() {
    this.set(guardedCount());
  },
});
export function reportGuardedClaims(count: () => number): void {
  guardedCount = count;
}

export const deletionReleases = new Counter({
  name: 'wutong_backup_deletion_releases_total',
  help: 'Deleting PVCs released by the data guard, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

let retainedCount: () => number = () => 0;
export const retainedVolumes = new Gauge({
  name: 'wutong_backup_retained_volumes',
  help: 'Volumes kept with reclaim policy Retain, with a record to restore from.',
  registers: [registry],
  collect() {
    this.set(retainedCount());
  },
});
export function reportRetainedVolumes(count: () => number): void {
  retainedCount = count;
}
