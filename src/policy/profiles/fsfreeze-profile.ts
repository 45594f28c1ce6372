import type { HookProfile } from './hook-profile.js';

/**
 * Freezes the data volume's file system for the copy. Runs in a privileged
 * sidecar that mounts the volume (FIFREEZE needs CAP_SYS_ADMIN), so rules
 * must name that container: the profile has no image to be picked by.
 * Plain argv, no shell: the sidecar image may not have one.
 */
export const fsfreezeProfile: HookProfile = {
  name: 'fsfreeze',
  summary: 'Any application: fsfreeze the data volume from a privileged sidecar while it is copied',
  image: undefined,
  env: [],
  dumpFile: undefined,
  backup: {
    // Fail: a backup of a volume that could not be frozen is not the
    // consistent copy this profile promises. A failed freeze leaves nothing
    // frozen, so Velero skipping the post hook then is harmless.
    pre: { command: ['fsfreeze', '--freeze', '{{dataDir}}'], onError: 'Fail', timeout: '2m' },
    // Fail: a volume left frozen blocks every writer; the backup must show it.
    post: { command: ['fsfreeze', '--unfreeze', '{{dataDir}}'], onError: 'Fail', timeout: '2m' },
  },
  restore: {},
};
