import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The built server (dist/src/main.js, as the image runs it) as a child process, its JSON log lines collected. */
export interface WebhookProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose msg starts with `prefix`. */
  logLine(prefix: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The generated development TLS directory (ca.crt). */
  tlsDir: string;
  cleanup(): void;
}

export function spawnWebhook(env: Record<string, string>): WebhookProcess {
  const tlsDir = mkdtempSync(join(tmpdir(), 'wutong-backup-process-'));
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', HOME: tlsDir, KUBECONFIG: join(tlsDir, 'no-kubeconfig'), HOST: '127.0.0.1', PORT: '0', API_PORT: '0', TLS_DIR: tlsDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const logLine = (prefix: string, timeoutMs = 30_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line "${prefix}…" within ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(logs)}`)), timeoutMs);
      const check = (): void => {
        const found = logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  return {
    child,
    logs,
    logLine,
    exited,
    tlsDir,
    cleanup: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(tlsDir, { recursive: true, force: true });
    },
  };
}
