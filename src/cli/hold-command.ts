// `wutong-backup hold`: what a holder pod runs. Velero's file-system backup
// reads a volume through a running pod that mounts it; a stopped component
// has none, so the controller starts a holder pod that mounts the PVCs and
// does nothing else. It opens no socket, reads and writes no file (the pod's
// root filesystem is read-only), and ends with exit 0 as soon as the kubelet
// asks (SIGTERM on delete) or someone interrupts it (SIGINT).
//
// The restore hold (src/velero/restore-object.ts) runs it as an init
// container of the pods Velero restores, after Velero's restore-wait, with
// --clear-velero-markers: it first removes the `.velero` directory Velero's
// node agent leaves in every restored volume (its done files, not the
// backup's data), then holds, so the pod's own containers never start.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';

export const HOLD_USAGE = `Usage: wutong-backup hold [--clear-velero-markers <volume dir>...]

Waits for SIGTERM or SIGINT, then exits 0. Holder pods run it so that
Velero's file-system backup can read a stopped component's volumes.
--clear-velero-markers first removes <volume dir>/.velero (Velero's restore
done files) from each directory given.
`;

const CLEAR_MARKERS = '--clear-velero-markers';
/** The directory Velero's node agent writes its done file into (pod_volume_restore_controller.go). */
export const VELERO_MARKER_DIR = '.velero';

/** Resolves with the exit code once a signal came; the process stays alive meanwhile (a timer keeps the event loop busy). */
export function runHoldCommand(args: string[], io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    io.stdout.write(HOLD_USAGE);
    return Promise.resolve(0);
  }
  if (args.length > 0 && args[0] !== CLEAR_MARKERS) throw new UsageError(`hold takes no arguments but ${CLEAR_MARKERS}, got "${args.join(' ')}"`, 'hold');
  const dirs = args.slice(1);
  if (args.length > 0 && dirs.length === 0) throw new UsageError(`${CLEAR_MARKERS} needs at least one volume directory`, 'hold');
  for (const dir of dirs) {
    // force: a volume Velero wrote nothing into has none; anything else (permissions) fails the container, visibly.
    rmSync(join(dir, VELERO_MARKER_DIR), { recursive: true, force: true });
    io.stderr.write(`wutong-backup hold: removed ${join(dir, VELERO_MARKER_DIR)}\n`);
  }
  return new Promise((resolve) => {
    // Signal handlers alone do not keep Node running: an interval does, at no cost.
    const alive = setInterval(() => undefined, 2 ** 31 - 1);
    const done = (signal: string): void => {
      clearInterval(alive);
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      io.stderr.write(`wutong-backup hold: ${signal}, exiting\n`);
      resolve(0);
    };
    const onTerm = (): void => done('SIGTERM');
    const onInt = (): void => done('SIGINT');
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
    io.stderr.write('wutong-backup hold: holding the volumes until SIGTERM\n');
  });
}
