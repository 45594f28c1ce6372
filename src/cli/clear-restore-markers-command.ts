// `wutong-backup clear-restore-markers DIR...`: what the controller's marker
// holder runs after a restore (src/holder/restore-marker-pod.ts). Velero's
// node agent (root) writes `<volume>/.velero/<restore uid>` into every
// volume it restores (v1.11.1 pkg/controller/pod_volume_restore_controller.go
// L285-312, directory 0755, file 0644), and its restore-wait init container,
// which runs as its image's non-root user (Dockerfile L77 `USER
// nonroot:nonroot`), cannot delete them (cmd/velero-restore-helper
// removeFolder L83-104 prints the error and exits 0; velero#8973). Removes
// exactly `<DIR>/.velero` in each DIR, nothing else: a name Velero itself
// deletes before every restore of the volume (L285-291).
import { lstatSync, rmSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';

export const CLEAR_RESTORE_MARKERS_USAGE = `Usage: wutong-backup clear-restore-markers DIR...

Removes DIR/.velero (the done files Velero's node agent leaves in a restored
volume) from each DIR, and nothing else. Exits 1 if one could not be removed.
`;

/** The folder Velero's node agent writes its done files into, at the top of a restored volume. */
export const VELERO_MARKER_DIR = '.velero';

export function runClearRestoreMarkersCommand(args: string[], io: CliIo): number {
  if (args[0] === '-h' || args[0] === '--help') {
    io.stdout.write(CLEAR_RESTORE_MARKERS_USAGE);
    return 0;
  }
  if (args.length === 0) throw new UsageError('clear-restore-markers needs at least one DIR', 'clear-restore-markers');
  const bad = args.find((dir) => !isAbsolute(dir) || normalize(dir) !== dir.replace(/\/+$/, '') || dir.split('/').includes('..'));
  if (bad !== undefined) throw new UsageError(`"${bad}" is not a plain absolute directory`, 'clear-restore-markers');
  let failed = 0;
  for (const dir of args) {
    const marker = join(dir, VELERO_MARKER_DIR);
    try {
      // lstat: a symbolic link named .velero is removed itself, never followed.
      lstatSync(marker);
    } catch {
      io.stdout.write(`${marker}: none\n`);
      continue;
    }
    try {
      rmSync(marker, { recursive: true, force: true });
      io.stdout.write(`${marker}: removed\n`);
    } catch (err) {
      failed++;
      io.stderr.write(`wutong-backup clear-restore-markers: ${marker}: ${(err as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}
