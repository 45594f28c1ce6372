// `wutong-backup status`: which components are covered, for people and for
// scripts. It reads the cluster once (src/kube/cluster-snapshot.ts) and judges
// each component with the same coverage.ts the metrics use.
//
// Exit codes: 0 every protected component is fine; 1 a protected, live
// component is overdue or its newest backup failed (exactly when one of the
// shipped alerts WutongBackupOverdue / WutongBackupFailed would fire for it),
// or the data guard kept a volume no backup covered (an operator has to
// restore from it or release it); 2 the cluster could not be read, or a usage
// mistake.
import { humanBytes } from '../api/records/record-format.js';
import { tableLines } from './text-table.js';
import { describeComponent } from '../components/component.js';
import type { ComponentSnapshot } from '../components/component-registry.js';
import { componentCoverage, type Coverage } from '../controller/coverage.js';
import type { ClusterSnapshot } from '../kube/cluster-snapshot.js';
import type { ListedRecord } from '../kube/retained-records.js';
import type { CliIo } from './cli-io.js';
import { CliError, UsageError } from './cli-error.js';
import { tenantLabelsFromEnv } from '../tenancy/tenant-labels.js';
import { parseOptions } from './parse-options.js';
import { formatUpgradeHolds, upgradeHoldRows, type UpgradeHoldRow } from './status-holds.js';
import { formatStorageLocations, locationNeedsAttention, storageLocationRows, type StorageLocationRow } from './status-locations.js';
import { durationFromEnv } from '../duration.js';
import { DEFAULT_MAX_VALIDATION_AGE_MS } from '../velero/storage-location-state.js';

export const STATUS_USAGE = `Usage: wutong-backup status [options]

Lists every Wutong component (objects labelled creator=Wutong) in the cluster
of the current kubeconfig (KUBECONFIG, else ~/.kube/config): whether a Velero
Schedule protects it, the schedule, the age and phase of its last backup, its
size, and when the next successful backup is due (the next scheduled run after
the last success, plus max(1 h, half the interval)). Then every rollout held
for a backup before an upgrade (protection.backupBeforeUpgrade): the
workload, how long it has waited, its Backup and that Backup's phase.

Then Velero's BackupStorageLocations: phase, access mode, when Velero last
validated each, and whether it can take backups. A ReadOnly location takes no
backup and deletes none; one not validated for longer than
$BSL_VALIDATION_MAX_AGE (default 5m) has no Velero server running for it and
is shown stale (unavailable), whatever its phase says.

It also lists the volumes the data guard kept (reclaim policy Retain) when a
protected component's PVCs were deleted with no backup covering its last run,
with the record to restore from and how to release each.

Exit status: 0 all protected components are fine; 1 a protected component is
overdue or its last backup failed, a retained volume awaits a decision, or the
storage location backups go to is missing, unavailable, stale or ReadOnly;
2 the cluster could not be read.

Options:
      --velero-namespace NAME   Namespace of Velero's objects (default: $VELERO_NAMESPACE, else "velero")
      --storage-location NAME   The BackupStorageLocation backups go to (default: $BACKUP_STORAGE_LOCATION, else "default")
  -n, --namespace NAME          Namespace wutong-backup runs in, where it keeps retained-volume records (default: $POD_NAMESPACE, else "wutong-backup")
  -o, --output table|json       Output format (default table)
  -h, --help                    Show this help
`;

const OPTIONS = {
  'velero-namespace': { type: 'string' },
  'storage-location': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

// Each page of a list: generous, since the operator runs this against a busy API server.
const PAGE_TIMEOUT_MS = 30_000;

export interface StatusRow {
  component: string;
  serviceId: string;
  namespace: string;
  coverage: Coverage;
}

/** Exit 1 when this row is what an alert would fire on. */
export const needsAttention = (c: Coverage): boolean => c.protected && c.state !== 'deleted' && (c.overdue || c.failed);

export function statusRows(snapshot: ClusterSnapshot, now: Date): StatusRow[] {
  return snapshot.registry
    .all()
    .map((c: ComponentSnapshot) => ({
      component: describeComponent(c.ref),
      serviceId: c.serviceId,
      namespace: c.namespace,
      coverage: componentCoverage(c, snapshot.backupsOf(c.key), now),
    }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.component.localeCompare(b.component) || a.serviceId.localeCompare(b.serviceId));
}

/** kubectl-style age: 45s, 12m, 5h, 3d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function lastBackupText(c: Coverage, now: Date): string {
  const b = c.lastBackup;
  if (!b) return '-';
  const at = b.completedAt ?? b.startedAt;
  return at ? `${b.phase} ${age(now.getTime() - at.getTime())} ago` : b.phase;
}

function dueText(c: Coverage, now: Date): string {
  if (!c.protected || c.state === 'deleted') return '-';
  if (c.schedule?.paused) return 'paused';
  if (!c.dueAt) return '-';
  const left = c.dueAt.getTime() - now.getTime();
  return c.overdue ? `OVERDUE ${age(-left)}` : `in ${age(left)}`;
}

const HEADERS = ['COMPONENT', 'NAMESPACE', 'STATE', 'PROTECTED', 'SCHEDULE', 'LAST BACKUP', 'SIZE', 'DUE'] as const;

export function formatStatusTable(rows: readonly StatusRow[], now: Date): string {
  const cells = rows.map(({ component, namespace, coverage: c }) => [
    component,
    namespace,
    c.state,
    c.protected ? `yes${c.schedule?.source ? ` (${c.schedule.source})` : ''}` : 'no',
    c.schedule ? c.schedule.cron : '-',
    lastBackupText(c, now),
    humanBytes(c.lastBackup?.bytes ?? 0),
    dueText(c, now),
  ]);
  const attention = rows.filter((r) => needsAttention(r.coverage));
  const summary =
    `${rows.length} components, ${rows.filter((r) => r.coverage.protected).length} protected, ` +
    `${rows.filter((r) => r.coverage.overdue).length} overdue, ${rows.filter((r) => r.coverage.protected && r.coverage.failed).length} with a failed last backup` +
    (attention.length > 0 ? `: ${attention.map((r) => r.component).join(', ')}` : '');
  return `${tableLines(HEADERS, cells).join('\n')}\n\n${summary}\n`;
}

const RETAINED_HEADERS = ['RETAINED VOLUME', 'COMPONENT', 'CLAIM', 'KEPT', 'RECORD', 'WHY'] as const;

/** The retained volumes, each with its record and what to do about it; '' when there are none. */
export function formatRetainedTable(records: readonly ListedRecord[], namespace: string, now: Date): string {
  if (records.length === 0) return '';
  const cells = records.map((r) => [
    r.volume,
    r.component || r.serviceId,
    `${r.claim.namespace}/${r.claim.name}`,
    Number.isFinite(Date.parse(r.retainedAt)) ? `${age(now.getTime() - Date.parse(r.retainedAt))} ago` : '-',
    r.recordName,
    r.reason,
  ]);
  const example = records[0]?.recordName ?? '<record>';
  return (
    `\n${tableLines(RETAINED_HEADERS, cells).join('\n')}\n\n` +
    `${records.length} retained volume${records.length === 1 ? '' : 's'}: no backup covered the component's last run, so the data was kept (see README "Deletion safety").\n` +
    `  restore: kubectl -n ${namespace} get configmap ${example} -o jsonpath='{.data.persistentvolume\\.json}' | kubectl apply -f -   (then the same for persistentvolumeclaim.json)\n` +
    `  release: kubectl patch pv <volume> -p '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}' (if it still exists), then kubectl -n ${namespace} delete configmap ${example}\n`
  );
}

const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

export function formatStatusJson(rows: readonly StatusRow[], upgradeHolds: readonly UpgradeHoldRow[] = [], retainedVolumes: readonly ListedRecord[] = [], storageLocations: readonly StorageLocationRow[] = []): string {
  const components = rows.map(({ component, serviceId, namespace, coverage: c }) => ({
    component,
    serviceId,
    namespace,
    state: c.state,
    protected: c.protected,
    schedule: c.schedule ?? null,
    lastBackup: c.lastBackup ? { ...c.lastBackup, startedAt: iso(c.lastBackup.startedAt), completedAt: iso(c.lastBackup.completedAt) } : null,
    lastSuccessAt: iso(c.lastSuccessAt),
    dueAt: iso(c.dueAt),
    overdue: c.overdue,
    failed: c.failed,
    needsAttention: needsAttention(c),
  }));
  return `${JSON.stringify({ components, upgradeHolds, retainedVolumes, storageLocations }, null, 2)}\n`;
}

/** Reads the cluster of the current kubeconfig; loaded on demand (client-node is heavy and no other command needs it). */
async function readCurrentCluster(env: NodeJS.ProcessEnv, veleroNamespace: string, ownNamespace: string): Promise<ClusterSnapshot> {
  const [{ findCluster }, { kubeHttp, KubeHttpError }, { readClusterSnapshot }] = await Promise.all([
    import('../kube/kube-config.js'),
    import('../kube/kube-http.js'),
    import('../kube/cluster-snapshot.js'),
  ]);
  let source = 'the kubeconfig';
  try {
    const cluster = await findCluster(env);
    if (!cluster) throw new CliError('no cluster: set KUBECONFIG or create ~/.kube/config', 2);
    source = cluster.source;
    return await readClusterSnapshot(kubeHttp(cluster.kubeConfig), veleroNamespace, PAGE_TIMEOUT_MS, ownNamespace, tenantLabelsFromEnv(process.env));
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof KubeHttpError && err.status === 404) {
      throw new CliError(`${err.message} (is Velero installed, and is its namespace "${veleroNamespace}"? see --velero-namespace)`, 2);
    }
    // Exit 2, never 1: a script must not mistake "could not look" for "a component is overdue".
    throw new CliError(`cannot read the cluster (${source}): ${(err as Error).message}`, 2);
  }
}

export type ClusterReader = (env: NodeJS.ProcessEnv, veleroNamespace: string, ownNamespace: string) => Promise<ClusterSnapshot>;

export async function runStatusCommand(args: string[], io: CliIo, read: ClusterReader = readCurrentCluster, now: () => Date = () => new Date()): Promise<number> {
  const { values } = parseOptions(args, OPTIONS, 'status');
  if (values.help) {
    io.stdout.write(STATUS_USAGE);
    return 0;
  }
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output must be table or json, got "${output}"`, 'status');
  const veleroNamespace = values['velero-namespace'] || io.env.VELERO_NAMESPACE || 'velero';
  const ownNamespace = values.namespace || io.env.POD_NAMESPACE || 'wutong-backup';
  const snapshot = await read(io.env, veleroNamespace, ownNamespace);
  const at = now();
  const rows = statusRows(snapshot, at);
  const holds = upgradeHoldRows(snapshot);
  const retained = snapshot.retainedVolumes;
  const locations = storageLocationRows(snapshot.storageLocations, {
    veleroNamespace,
    used: values['storage-location'] || io.env.BACKUP_STORAGE_LOCATION || 'default',
    now: at.getTime(),
    maxValidationAgeMs: durationFromEnv(io.env, 'BSL_VALIDATION_MAX_AGE', DEFAULT_MAX_VALIDATION_AGE_MS),
  });
  io.stdout.write(
    output === 'json'
      ? formatStatusJson(rows, holds, retained, locations)
      : formatStatusTable(rows, at) + formatStorageLocations(locations, veleroNamespace, at, age) + formatUpgradeHolds(holds, at, age) + formatRetainedTable(retained, ownNamespace, at),
  );
  return rows.some((r) => needsAttention(r.coverage)) || retained.length > 0 || locations.some(locationNeedsAttention) ? 1 : 0;
}
