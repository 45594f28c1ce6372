import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Pod } from '../../../src/admission/pod.js';
import { mutatePod } from '../../../src/admission/mutate-pod.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { toolPath } from './database-tools.js';

export const PREFIX = {
  preBackup: 'pre.hook.backup.velero.io/',
  postBackup: 'post.hook.backup.velero.io/',
  postRestore: 'post.hook.restore.velero.io/',
  initRestore: 'init.hook.restore.velero.io/',
} as const;

/** A Wutong pod running `image` with its data volume mounted at `dataDir` and `env` set with literal values. */
export function databasePod(image: string, dataDir: string, env: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', labels: { creator: 'Wutong', service_id: 'a'.repeat(32) } },
    spec: {
      containers: [
        { name: 'mesh', image: 'wutong/mesh-agent:v1' },
        {
          name: 'db',
          image,
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          volumeMounts: [{ name: 'data', mountPath: dataDir }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }],
    },
  };
}

/** The annotations the webhook adds to `pod` under a policy with one rule naming `profile`. */
export function profileAnnotations(profile: string, pod: Pod, policyExtra = ''): Record<string, string> {
  const policy = loadPolicy(
    `apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\n${policyExtra}rules:\n  - name: db\n    profile: ${profile}\n`,
    'integration policy',
    1,
  );
  const mutation = mutatePod(pod, policy, 'default');
  if (!mutation.handled) throw new Error(`pod not handled: ${mutation.skipReason}`);
  return mutation.annotations;
}

/** The argv Velero would exec for the hook with this prefix: the JSON array in its command annotation. */
export function hookArgv(annotations: Record<string, string>, prefix: string): string[] {
  const value = annotations[`${prefix}command`];
  if (value === undefined) throw new Error(`no ${prefix}command annotation`);
  const argv: unknown = JSON.parse(value);
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`${prefix}command is not a JSON array of strings`);
  return argv;
}

export interface HookRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a hook as Velero's exec would: the argv as is, no shell around it,
 * with only the container's env (plus PATH to the database's tools).
 */
export function runHook(argv: string[], containerEnv: Record<string, string>, user?: { uid: number; gid: number }): Promise<HookRun> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    execFile(
      file ?? '',
      args,
      { env: { PATH: toolPath(), ...containerEnv }, timeout: 120_000, ...(user ?? {}) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A server process started for a test; its output is kept for failure messages. */
export class ServerProcess {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string } = {}) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, env: options.env ?? { PATH: toolPath() } });
    this.child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the server (SIGTERM, or `signal`) and waits for it; SIGKILL after 20 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  log(): string {
    return this.output.join('').slice(-4000);
  }
}
