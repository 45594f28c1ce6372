// The "held rollouts" part of `wutong-backup status`: every workload whose
// rollout the webhook holds for a backup right now (annotation
// backup.wutong.io/upgrade-hold, state held), how long it has waited, and
// where its Backup is. Read from the same registry summaries the controller
// acts on.
import { describeComponent } from '../components/component.js';
import { tableLines } from './text-table.js';
import { activeHold } from '../components/upgrade-hold.js';
import type { ClusterSnapshot } from '../kube/cluster-snapshot.js';

export interface UpgradeHoldRow {
  component: string;
  serviceId: string;
  namespace: string;
  /** "StatefulSet/gr1234" */
  workload: string;
  heldAt: string;
  backup: string;
  /** The Backup's phase, '' when Velero has not picked it up, 'absent' when it does not exist (yet). */
  backupPhase: string;
  reason: string;
}

export function upgradeHoldRows(snapshot: ClusterSnapshot): UpgradeHoldRow[] {
  const rows: UpgradeHoldRow[] = [];
  for (const c of snapshot.registry.all()) {
    const hold = activeHold(c.workload);
    if (!hold || !c.workload) continue;
    const backup = snapshot.backupsOf(c.key).backups.find((b) => b.metadata.name === hold.backup);
    rows.push({
      component: describeComponent(c.ref),
      serviceId: c.serviceId,
      namespace: c.namespace,
      workload: `${c.workload.kind}/${c.workload.name}`,
      heldAt: hold.heldAt,
      backup: hold.backup,
      backupPhase: backup ? (backup.status.phase ?? '') : 'absent',
      reason: hold.reason,
    });
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.component.localeCompare(b.component));
}

/** A section after the components table; empty when nothing is held. */
export function formatUpgradeHolds(rows: readonly UpgradeHoldRow[], now: Date, age: (ms: number) => string): string {
  if (rows.length === 0) return '';
  const headers = ['HELD ROLLOUT', 'NAMESPACE', 'WORKLOAD', 'HELD FOR', 'BACKUP', 'PHASE', 'CHANGE'];
  const cells = rows.map((r) => [r.component, r.namespace, r.workload, age(now.getTime() - Date.parse(r.heldAt)), r.backup, r.backupPhase || 'New', r.reason]);
  return `\n${tableLines(headers, cells).join('\n')}\n\n${rows.length} rollout${rows.length === 1 ? '' : 's'} held for a backup\n`;
}
