// `wutong-backup clear-velero-markers <dir>...`: what a restore's init
// container runs in every pod Velero restores (src/velero/restore-object.ts),
// right after Velero's own restore-wait: it removes the `.velero` directory
// Velero's node agent writes into every volume it restores (its done files,
// v1.11.1 pkg/controller/pod_volume_restore_controller.go), which is not the
// backup's data, then exits 0 so the pod's own containers start as Velero
// expects (and the profiles' post-restore hooks load their dumps).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';

export const CLEAR_VELERO_MARKERS_USAGE = `Usage: wutong-backup clear-velero-markers <volume dir>...

Removes <volume dir>/.velero (Velero's restore done files) from each
directory given, then exits 0. Restores run it in every pod Velero restores.
`;

/** The directory Velero's node agent writes its done file into. */
export const VELERO_MARKER_DIR = '.velero';

export function runClearVeleroMarkersCommand(args: string[], io: CliIo): number {
  if (args[0] === '-h' || args[0] === '--help') {
    io.stdout.write(CLEAR_VELERO_MARKERS_USAGE);
    return 0;
  }
  if (args.length === 0) throw new UsageError('clear-velero-markers needs at least one volume directory', 'clear-velero-markers');
  for (const dir of args) {
    // force: a volume Velero wrote nothing into has none; anything else (permissions) fails the init container, visibly.
    rmSync(join(dir, VELERO_MARKER_DIR), { recursive: true, force: true });
    io.stderr.write(`wutong-backup clear-velero-markers: removed ${join(dir, VELERO_MARKER_DIR)}\n`);
  }
  return 0;
}
