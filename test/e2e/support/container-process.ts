import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { shellQuote, type ImageProgram } from './container-images.js';

/**
 * ONE CONTAINER AS A LOCAL PROCESS (test helper for the data-bearing node):
 * what a container runtime gives a container that matters to backups, and
 * no more: its own mount namespace (`unshare --mount --propagation private`:
 * nothing it mounts leaks to the host) with each volumeMount bind-mounted at
 * its mountPath (read-only when the mount says so, subPath honoured), private
 * tmpfs runtime directories, the image's network choice, and its
 * environment. The root filesystem is the host's: the images the testbed
 * knows are Debian's programs, which are installed here.
 */

export interface VolumeBind {
  /** The host directory (or file) the kubelet mounted for the volume. */
  source: string;
  /** The container's mountPath. */
  target: string;
  readOnly: boolean;
}

export interface ContainerProcessOptions {
  program: ImageProgram;
  binds: readonly VolumeBind[];
  /** The container's env over the image's (resolved). */
  env: Record<string, string>;
  /** Where stdout and stderr go (the kubelet's /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log). */
  logPath: string;
}

export interface ContainerExit {
  exitCode: number;
  /** The signal that ended it, when one did (exit code 128+n, as a runtime reports it). */
  signal: NodeJS.Signals | null;
  finishedAt: Date;
}

export interface ContainerProcess {
  pid: number;
  startedAt: Date;
  ownNetwork: boolean;
  exited: Promise<ContainerExit>;
  running(): boolean;
  /** Signals the container's whole process group. */
  signal(sig: NodeJS.Signals): void;
  logPath: string;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);
const depth = (path: string): number => path.split('/').filter(Boolean).length;

/** The shell lines that build the container's mounts, in an order where no mount hides a source another one still needs. */
export function mountScript(program: ImageProgram, binds: readonly VolumeBind[]): string {
  const all = [...program.binds.map((b) => ({ ...b, readOnly: false })), ...binds.map((b) => ({ ...b, file: false }))];
  const lines: string[] = [];
  if (program.ownNetwork) lines.push('ip link set lo up');
  // A volume mounted at a runtime directory is that directory; a tmpfs over a
  // directory that holds a source (the node root under /tmp) goes on last,
  // unless a volume is mounted inside it (the tmpfs would hide it).
  const tmpfs = program.tmpfs.filter((dir) => !all.some((b) => b.target === dir));
  const late = tmpfs.filter((dir) => all.some((b) => within(b.source, dir)));
  const early = tmpfs.filter((dir) => !late.includes(dir));
  const tmpfsLine = (dir: string): string => `mkdir -p ${shellQuote(dir)} && mount -t tmpfs -o mode=${dir === '/tmp' ? '1777' : '0755'} tmpfs ${shellQuote(dir)}`;
  for (const dir of early) lines.push(tmpfsLine(dir));
  for (const bind of [...all].sort((a, b) => depth(a.target) - depth(b.target))) {
    const target = shellQuote(bind.target);
    lines.push(bind.file ? `mkdir -p ${shellQuote(dirname(bind.target))} && { [ -e ${target} ] || touch ${target}; }` : `mkdir -p ${target}`);
    lines.push(`mount --bind ${shellQuote(bind.source)} ${target}`);
    if (bind.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  }
  for (const dir of late) if (!all.some((b) => within(b.target, dir))) lines.push(tmpfsLine(dir));
  return lines.join('\n');
}

export function startContainerProcess(options: ContainerProcessOptions): ContainerProcess {
  const { program } = options;
  // set -e throughout: the docker-library entrypoints run under `set -Eeo pipefail`.
  const script = `set -e\n${mountScript(program, options.binds)}\n${program.script}`;
  mkdirSync(dirname(options.logPath), { recursive: true });
  const log = openSync(options.logPath, 'a');
  // detached: its own process group, so a signal reaches the servers' children too.
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', ...(program.ownNetwork ? ['--net'] : []), '/bin/sh', '-c', script], {
    stdio: ['ignore', log, log],
    env: options.env,
    detached: true,
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${program.kind}: unshare did not start`);
  const exited = new Promise<ContainerExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ exitCode: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0), signal, finishedAt: new Date() });
    });
  });
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  return {
    pid,
    startedAt: new Date(),
    ownNetwork: program.ownNetwork,
    exited,
    running: () => alive,
    signal(sig) {
      if (!alive) return;
      try {
        process.kill(-pid, sig);
      } catch {
        // Already gone.
      }
    },
    logPath: options.logPath,
  };
}

/** The tail of a container's log, for failure messages. */
export function logTail(path: string, chars = 2_000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-chars);
  } catch {
    return '';
  }
}
