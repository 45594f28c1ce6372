// TEMPORARY local stand-in for the lead's foundation file (H-DESIGN.md item 6); the lead's version wins on merge.
import { Counter, Gauge } from 'prom-client';
import { registry } from './metrics.js';

let upgradeHoldCount: (() => number) | undefined;
export function reportUpgradeHolds(count: () => number): void {
  upgradeHoldCount = count;
}

export const upgradeHolds = new Gauge({
  name: 'wutong_backup_upgrade_holds',
  help: 'Rollouts of protected workloads held for a backup right now.',
  registers: [registry],
  collect() {
    if (upgradeHoldCount) this.set(upgradeHoldCount());
  },
});

export const upgradeHoldReleases = new Counter({
  name: 'wutong_backup_upgrade_hold_releases_total',
  help: 'Upgrade holds released, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
