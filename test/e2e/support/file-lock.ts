import { closeSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clusterInfo } from './kube.js';

const LOCK_TIMEOUT_MS = 15 * 60_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A lock that test files of this run share through the cluster's data
 * directory, whatever jest's worker count: a file that must have some
 * cluster-wide thing to itself (the shipped installation, Velero's CRDs)
 * holds it, and the others wait. A holder that died leaves a lock the next
 * one takes over.
 */
export async function acquireFileLock(name: string, what: string): Promise<() => void> {
  const path = join(dirname(clusterInfo().kubeconfigPath), `${name}.lock`);
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(path, { encoding: 'utf8', flag: 'r' }) || '0');
      if (holder === process.pid) throw new Error(`${what} is still held by this process: an earlier holder in this jest worker did not release it (a failed or timed-out beforeAll?)`);
      if (holder > 0 && !pidAlive(holder)) {
        unlinkSync(path);
        continue;
      }
    }
    if (Date.now() > deadline) throw new Error(`${what} is still held by another test file after ${LOCK_TIMEOUT_MS} ms (${path})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Held by files that read or write Velero objects without the shipped installation, and by the one that deletes Velero's CRDs. */
export const VELERO_CRDS_LOCK = 'velero-crds';
