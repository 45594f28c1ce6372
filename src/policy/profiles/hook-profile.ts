import type { BackupHook, RestoreExecHook, RestoreInitHook } from '../hook-schema.js';

/**
 * A named, documented set of hooks that rules reference with `profile:`.
 * Every command reads credentials from the matched container's environment
 * at run time (through a shell), so no secret is ever copied into a pod
 * annotation. docs/profiles.md explains each profile's choices.
 */
export interface HookProfile {
  name: string;
  /** One line for `explain` and the docs. */
  summary: string;
  /**
   * Regular expression tested against the container image. A rule naming
   * neither containers nor image matches with it, and autoProfiles picks the
   * profile by it. Undefined: the profile is never picked by image.
   */
  image: string | undefined;
  /** Environment variables of the matched container the hooks read at run time. */
  env: readonly string[];
  /** File the pre-backup hook writes into {{dataDir}}, if any: what cleanup removes. */
  dumpFile: string | undefined;
  backup: { pre?: BackupHook; post?: BackupHook };
  restore: { post?: RestoreExecHook; init?: RestoreInitHook };
  /**
   * Post-backup hook deleting the dump, added only under
   * `dumps.removeAfterBackup: true`: on Velero < 1.15.1 a post-backup hook
   * runs before file-system backup has copied the volume (velero#8159).
   */
  cleanup?: BackupHook;
}
