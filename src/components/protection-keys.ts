// Every label, annotation and finalizer this project puts on Kubernetes
// objects other than Velero's (workloads, PVCs, PVs, pods) to protect a
// component through its life, spelled once. All are backup.wutong.io/*:
// Wutong never reads or writes them.

export const PROTECTION_ANNOTATION = {
  /** On a StatefulSet or Deployment: the webhook's record of a rollout it holds for a backup before upgrade. */
  upgradeHold: 'backup.wutong.io/upgrade-hold',
  /** On PVCs: "running" while the controller sees the component run, else when it saw it stop (run-mark.ts). */
  ranUntil: 'backup.wutong.io/ran-until',
  /** On a PV kept with reclaim policy Retain because no backup covered its data. */
  retained: 'backup.wutong.io/retained',
  /** On a holder pod: the Backup it lets Velero read the stopped component's volumes for. */
  holderBackup: 'backup.wutong.io/holder-backup',
  /** On a marker holder (src/holder/restore-marker-pod.ts): the Restore whose .velero folders its init container removes. */
  clearsRestoreMarkers: 'backup.wutong.io/clears-restore-markers',
  /** On a stopped component's first PVC: the backup on stop it tried and could not start (its holder never ran), so one stop gets one try. */
  stopBackup: 'backup.wutong.io/stop-backup',
  /** On PVCs the data guard keeps (H3): the policy rule that protected them, so a deletion is still judged by it after the component's Schedule is gone. */
  guardRule: 'backup.wutong.io/guard-rule',
} as const;

export const PROTECTION_LABEL = {
  /** On holder pods, the component's service_id: how the sweep finds every holder, whoever made it. */
  holder: 'backup.wutong.io/holder',
  /** On retained PVs and on the records kept of them. */
  retainedVolume: 'backup.wutong.io/retained-volume',
} as const;

/** On the PVCs of protected components: their deletion waits until the controller has made sure the data survives. */
export const DATA_GUARD_FINALIZER = 'backup.wutong.io/data-guard';

/** The prefix of every key above: the only annotations the component registry keeps. */
export const PROTECTION_PREFIX = 'backup.wutong.io/';
