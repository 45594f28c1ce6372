// `wutong-backup hold`: what a holder pod runs. Velero's file-system backup
// reads a volume through a running pod that mounts it; a stopped component
// has none, so the controller starts a holder pod that mounts the PVCs and
// does nothing else. It opens no socket, reads and writes no file (the pod's
// root filesystem is read-only), and ends with exit 0 as soon as the kubelet
// asks (SIGTERM on delete) or someone interrupts it (SIGINT).
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';

export const HOLD_USAGE = `Usage: wutong-backup hold

Waits for SIGTERM or SIGINT, then exits 0. Holder pods run it so that
Velero's file-system backup can read a stopped component's volumes.
`;

/** Resolves with the exit code once a signal came; the process stays alive meanwhile (a timer keeps the event loop busy). */
export function runHoldCommand(args: string[], io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    io.stdout.write(HOLD_USAGE);
    return Promise.resolve(0);
  }
  if (args.length > 0) throw new UsageError(`hold takes no arguments, got "${args.join(' ')}"`, 'hold');
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
