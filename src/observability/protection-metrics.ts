// Metrics of the protection through a component's life (issue H): upgrade
// holds, holder pods and the data guard on PVCs. Gauges are computed when
// scraped, from whatever the owning loop reports; counters count actions.
import { Counter, Gauge } from 'prom-client';
import { registry } from './metrics.js';

/** A gauge whose value comes from a function set once by the loop that knows it (0 until then, and on non-leaders). */
function reportedGauge(name: string, help: string): { gauge: Gauge; report: (count: () => number) => void } {
  let count: (() => number) | undefined;
  const gauge = new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(count?.() ?? 0);
    },
  });
  return { gauge, report: (fn) => (count = fn) };
}

const holds = reportedGauge('wutong_backup_upgrade_holds', 'Rollouts of protected workloads held for a backup before upgrade, now.');
export const upgradeHolds = holds.gauge;
export const reportUpgradeHolds = holds.report;

export const upgradeHoldReleases = new Counter({
  name: 'wutong_backup_upgrade_hold_releases_total',
  help: 'Held rollouts released, by outcome: completed (the backup finished), failed (it failed), expired (the hold limit passed), unprotected (protection went away).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const holders = reportedGauge('wutong_backup_holder_pods', 'Holder pods that mount a stopped component\'s PVCs for a backup or restore, now.');
export const holderPods = holders.gauge;
export const reportHolderPods = holders.report;

export const holderPodsRemoved = new Counter({
  name: 'wutong_backup_holder_pods_removed_total',
  help: 'Holder pods the controller deleted, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const stopBackups = new Counter({
  name: 'wutong_backup_stop_backups_total',
  help: 'Backups on stop (protection.backupOnStop) the controller tried, by outcome: started (the holder ran and the Backup was created), failed (the holder did not run; not tried again for that stop).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const guarded = reportedGauge('wutong_backup_guarded_claims', 'PVCs of protected components that carry the data-guard finalizer, now.');
export const guardedClaims = guarded.gauge;
export const reportGuardedClaims = guarded.report;

export const deletionReleases = new Counter({
  name: 'wutong_backup_deletion_releases_total',
  help: 'Deleted PVCs whose data-guard finalizer was released, by outcome: covered (a backup holds the data), retained (the PV was kept with Retain), unprotected (protection went away), unbound (no volume held the claim data).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const retained = reportedGauge('wutong_backup_retained_volumes', 'Volumes kept with reclaim policy Retain because no backup covered them, awaiting an operator.');
export const retainedVolumes = retained.gauge;
export const reportRetainedVolumes = retained.report;
