// Coverage per protected component, computed when Prometheus scrapes (a walk
// over the registry and the Velero cache), never on a watch event. Every
// replica exports the same values (each has the registry and the cache), so
// the shipped alerts aggregate with max by (...) over the replicas.
// Only protected components get series: an unprotected one has no due time,
// and 5,000 components times five gauges is already 25,000 series.
// last_backup_status has one series per component, for the newest Backup's
// phase, with the value 1 (not a 0 for every other phase: that would be
// seven times the series for nothing an alert needs).
import type { ComponentKey } from '../components/component-key.js';
import { Gauge } from 'prom-client';
import type { ComponentSnapshot } from '../components/component-registry.js';
import { componentCoverage, type ComponentBackups, type Coverage } from '../controller/coverage.js';
import { registry } from './metrics.js';

/** What the metrics read of a registry entry. */
export type CoveredComponent = Pick<ComponentSnapshot, 'key' | 'serviceId' | 'namespace' | 'ref' | 'state'>;

export interface CoverageSource {
  components(): Iterable<CoveredComponent>;
  backupsOf(component: ComponentKey): ComponentBackups;
  now(): Date;
}

const LABELS = ['namespace', 'service_id', 'service_alias', 'tenant_name', 'tenant_env_name'] as const;
type Label = (typeof LABELS)[number];

interface Scraped {
  labels: Record<Label, string>;
  coverage: Coverage;
}

let source: CoverageSource | undefined;
// The gauges below are collected one after the other within one scrape: one walk serves them all.
let lastWalk: { at: number; rows: Scraped[] } | undefined;
const WALK_REUSE_MS = 1_000;

/** Turns the gauges on (the cluster wiring calls it; standalone there is nothing to cover). */
export function reportComponentCoverage(from: CoverageSource): void {
  source = from;
  lastWalk = undefined;
}

function walk(): Scraped[] {
  if (!source) return [];
  const now = source.now();
  if (lastWalk && Math.abs(now.getTime() - lastWalk.at) < WALK_REUSE_MS) return lastWalk.rows;
  const rows: Scraped[] = [];
  for (const c of source.components()) {
    rows.push({
      labels: {
        namespace: c.namespace,
        service_id: c.serviceId,
        service_alias: c.ref.serviceAlias,
        tenant_name: c.ref.tenantName,
        tenant_env_name: c.ref.tenantEnvName,
      },
      coverage: componentCoverage(c, source.backupsOf(c.key), now),
    });
  }
  lastWalk = { at: now.getTime(), rows };
  return rows;
}

const seconds = (d: Date): number => d.getTime() / 1000;

function coverageGauge(name: string, help: string, value: (c: Coverage) => number | undefined): Gauge<Label> {
  return new Gauge({
    name,
    help,
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of walk()) {
        if (!row.coverage.protected) continue;
        const v = value(row.coverage);
        if (v !== undefined) this.set(row.labels, v);
      }
    },
  });
}

export const componentLastSuccess = coverageGauge(
  'wutong_backup_component_last_success_timestamp_seconds',
  'Completion time of the newest Completed Backup of a protected component (absent when it has none).',
  (c) => (c.lastSuccessAt ? seconds(c.lastSuccessAt) : undefined),
);

export const componentLastBackupSize = coverageGauge(
  'wutong_backup_component_last_backup_size_bytes',
  'Bytes of the newest Backup of a protected component: its PodVolumeBackups\' totalBytes summed.',
  (c) => c.lastBackup?.bytes,
);

export const componentBackupDue = coverageGauge(
  'wutong_backup_component_backup_due_timestamp_seconds',
  'When the next successful Backup of a protected component is due (next run after the last success, plus grace); absent while paused or deleted. Overdue: time() > this.',
  (c) => (c.dueAt && !c.schedule?.paused && c.state !== 'deleted' ? seconds(c.dueAt) : undefined),
);

export const componentPaused = coverageGauge(
  'wutong_backup_component_paused',
  '1 when the Schedule of a protected component is paused (the component is stopped), else 0.',
  (c) => (c.schedule?.paused ? 1 : 0),
);

export const componentLastBackupStatus = new Gauge({
  name: 'wutong_backup_component_last_backup_status',
  help: 'Phase of the newest Backup of a protected component (status label; the value is always 1): New, InProgress, Completed, PartiallyFailed, Failed, FailedValidation...',
  labelNames: [...LABELS, 'status'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const row of walk()) {
      if (row.coverage.protected && row.coverage.lastBackup) this.set({ ...row.labels, status: row.coverage.lastBackup.phase }, 1);
    }
  },
});

// The total per state is wutong_backup_components{state} (metrics.ts); unprotected = that minus this.
export const protectedComponents = new Gauge({
  name: 'wutong_backup_protected_components',
  help: 'Wutong components a Schedule protects, by state (running, stopped, deleted: PVCs being deleted).',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    const counts = new Map<string, number>();
    for (const row of walk()) if (row.coverage.protected) counts.set(row.coverage.state, (counts.get(row.coverage.state) ?? 0) + 1);
    for (const [state, n] of counts) this.set({ state }, n);
  },
});
