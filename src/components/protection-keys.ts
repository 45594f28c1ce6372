// LOCAL STAND-IN for the lead's foundation (H-DESIGN.md item 1); replaced by main's version on merge.
export const PROTECTION_ANNOTATION = {
  upgradeHold: 'backup.wutong.io/upgrade-hold',
  ranUntil: 'backup.wutong.io/ran-until',
  retained: 'backup.wutong.io/retained',
  holderBackup: 'backup.wutong.io/holder-backup',
  /** on PVCs the data guard keeps (H3): the policy rule that protected them, so a deletion is still judged by it after the component's Schedule is gone */
  guardRule: 'backup.wutong.io/guard-rule',
} as const;
export const PROTECTION_LABEL = {
  holder: 'backup.wutong.io/holder',
  retainedVolume: 'backup.wutong.io/retained-volume',
} as const;
export const DATA_GUARD_FINALIZER = 'backup.wutong.io/data-guard';
